"""Read a FHIR R4 screening input: a Bundle, a QuestionnaireResponse, or both in a Bundle.

Accepted Bundle types: collection, searchset, transaction, batch, document. The Bundle
must describe **one** patient: two Patient resources, or clinical resources whose
``subject``/``patient`` refer to different patients, are refused (screening one person
with another's data would be unsafe). Resource types screening does not read
(Encounter, Claim, Immunization, …) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from needlewise.domain.facts import ClinicalRecord, IntakeAnswer
from needlewise.errors import InputError
from needlewise.interop.fhir.access import (
    JsonObject,
    child,
    expect_object,
    opt_list,
    opt_object,
    opt_str,
)
from needlewise.interop.fhir.canonical import INTAKE_ID, matches_questionnaire, questionnaire_url
from needlewise.interop.fhir.intake import read_intake_answers
from needlewise.interop.fhir.records import SCREENED_TYPES, read_record
from needlewise.knowledge.base import KnowledgeBase

BUNDLE_TYPES = ("collection", "searchset", "transaction", "batch", "document")
INPUT_TYPES = ("Bundle", "QuestionnaireResponse")


@dataclass
class ScreeningInput:
    """What a screening document says about one patient."""

    answers: dict[str, IntakeAnswer] = field(default_factory=dict)
    records: list[ClinicalRecord] = field(default_factory=list)
    birth_date: date | None = None
    patient_reference: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)


def _reference_key(reference: str) -> str:
    """Comparable key of a reference: ``urn:uuid:x`` as is, URLs as ``Type/id``."""
    if reference.startswith("urn:"):
        return reference
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return "/".join(parts[-2:])


def parse_birth_date(value: str, path: str) -> date:
    """FHIR ``date`` (YYYY, YYYY-MM or YYYY-MM-DD) -> the *latest* date it can mean.

    A partial date is read as its last possible day, so the computed age is the lowest
    it could be: an age-based rule errs toward firing.
    """
    try:
        if len(value) == 4:
            return date(int(value), 12, 31)
        if len(value) == 7:
            year, month = int(value[:4]), int(value[5:7])
            following = date(year + (month == 12), month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return date.fromisoformat(value[:10])
    except ValueError:
        raise InputError(
            f"birthDate {value!r} is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)", path
        ) from None


class _Reader:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.result = ScreeningInput()
        self.rule_ids = {rule.id for rule in kb.contraindications}
        self.patient_keys: set[str] = set()
        self.subjects: dict[str, str] = {}
        self.by_reference: dict[str, JsonObject] = {}

    def note_subject(self, resource: JsonObject, path: str) -> None:
        for key in ("subject", "patient"):
            holder = opt_object(resource, key, path)
            if holder is None:
                continue
            reference = opt_str(holder, "reference", child(path, key))
            if reference and not reference.startswith("#"):
                self.subjects.setdefault(
                    _reference_key(reference), child(child(path, key), "reference")
                )

    def patient(self, resource: JsonObject, path: str, full_url: str | None) -> None:
        if self.result.patient_reference is not None:
            raise InputError(
                "the Bundle holds more than one Patient; screen one patient at a time", path
            )
        rid = opt_str(resource, "id", path)
        self.result.patient_reference = f"Patient/{rid}" if rid else "Patient"
        if rid:
            self.patient_keys.add(f"Patient/{rid}")
        if full_url:
            self.patient_keys.add(_reference_key(full_url))
        birth = opt_str(resource, "birthDate", path)
        if birth:
            self.result.birth_date = parse_birth_date(birth, child(path, "birthDate"))

    def questionnaire_response(self, resource: JsonObject, path: str, *, required: bool) -> None:
        reference = opt_str(resource, "questionnaire", path)
        if reference is not None and not matches_questionnaire(reference, self.kb, INTAKE_ID):
            if required:
                raise InputError(
                    f"this QuestionnaireResponse answers {reference!r}; needlewise screens "
                    f"answers to {questionnaire_url(self.kb, INTAKE_ID)}",
                    child(path, "questionnaire"),
                )
            self.result.skipped["QuestionnaireResponse"] = (
                self.result.skipped.get("QuestionnaireResponse", 0) + 1
            )
            return
        status = opt_str(resource, "status", path)
        if status == "entered-in-error":
            raise InputError(
                "the QuestionnaireResponse is marked entered-in-error", child(path, "status")
            )
        if self.result.answers:
            raise InputError("more than one intake QuestionnaireResponse; send one", path)
        self.note_subject(resource, path)
        self.result.answers = read_intake_answers(resource, path, self.rule_ids)

    def resolve_medication(self, reference: str) -> JsonObject | None:
        return self.by_reference.get(_reference_key(reference))

    def bundle(self, bundle: JsonObject) -> None:
        kind = opt_str(bundle, "type", "$")
        if kind not in BUNDLE_TYPES:
            raise InputError(
                f"Bundle.type must be one of {', '.join(BUNDLE_TYPES)}; found {kind!r}", "$.type"
            )
        entries: list[tuple[JsonObject, str, str | None]] = []
        for i, raw in enumerate(opt_list(bundle, "entry", "$")):
            where = child("$.entry", i)
            entry = expect_object(raw, where, "an entry object")
            resource_raw = entry.get("resource")
            if resource_raw is None:
                continue  # e.g. a transaction DELETE entry
            path = child(where, "resource")
            resource = expect_object(resource_raw, path, "a resource object")
            resource_type = opt_str(resource, "resourceType", path)
            if resource_type is None:
                raise InputError("resource without a resourceType", path)
            full_url = opt_str(entry, "fullUrl", where)
            rid = opt_str(resource, "id", path)
            if full_url:
                self.by_reference[_reference_key(full_url)] = resource
            if rid:
                self.by_reference[f"{resource_type}/{rid}"] = resource
            entries.append((resource, path, full_url))
        for resource, path, full_url in entries:
            resource_type = resource["resourceType"]
            if resource_type == "Patient":
                self.patient(resource, path, full_url)
            elif resource_type == "QuestionnaireResponse":
                self.questionnaire_response(resource, path, required=False)
            elif resource_type in SCREENED_TYPES:
                self.note_subject(resource, path)
                record = read_record(resource, path, self.resolve_medication)
                if record is not None:
                    self.result.records.append(record)
                else:
                    self.result.skipped[resource_type] = (
                        self.result.skipped.get(resource_type, 0) + 1
                    )
            else:
                self.result.skipped[resource_type] = self.result.skipped.get(resource_type, 0) + 1

    def check_one_patient(self) -> None:
        others = {k: p for k, p in self.subjects.items() if k not in self.patient_keys}
        if self.patient_keys and others:
            key, path = next(iter(others.items()))
            raise InputError(f"refers to {key}, not to the Bundle's patient", path)
        if not self.patient_keys and len(self.subjects) > 1:
            path = sorted(self.subjects.values())[1]
            raise InputError(
                f"resources refer to {len(self.subjects)} different patients; screen one patient at a time",
                path,
            )


def read_screening_document(document: Any, kb: KnowledgeBase) -> ScreeningInput:
    """Read a Bundle or a QuestionnaireResponse (already parsed from JSON)."""
    root = expect_object(document, "$", "a FHIR resource (a JSON object)")
    resource_type = opt_str(root, "resourceType", "$")
    reader = _Reader(kb)
    if resource_type == "Bundle":
        reader.bundle(root)
    elif resource_type == "QuestionnaireResponse":
        reader.questionnaire_response(root, "$", required=True)
    else:
        found = repr(resource_type) if resource_type else "no resourceType"
        raise InputError(
            f"expected a Bundle or a QuestionnaireResponse, found {found}", "$.resourceType"
        )
    reader.check_one_patient()
    return reader.result
