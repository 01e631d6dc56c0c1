"""Read a FHIR R4 screening input: a Bundle, a QuestionnaireResponse, or both in a Bundle.

Accepted Bundle types: collection, searchset, transaction, batch, document. The Bundle
must describe **one** patient: two Patient resources, or clinical resources whose
``subject``/``patient`` refer to different patients, are refused (screening one person
with another's data would be unsafe). Resource types screening does not read
(Encounter, Claim, Immunization, …) are skipped.
"""

from __future__ import annotations

import re
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
from needlewise.interop.fhir.prefilter import may_fire
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
    birth_date_recorded: str | None = None
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


_FHIR_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def parse_birth_date(value: str, path: str) -> date:
    """FHIR ``date`` (YYYY, YYYY-MM or YYYY-MM-DD) -> the *latest* date it can mean.

    A partial date is read as its last possible day, so the computed age is the lowest
    it could be: an age-based rule errs toward firing.
    """
    try:
        if not _FHIR_DATE.match(value):
            raise ValueError(value)
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
        self.rule_ids = kb.rule_ids
        self.patient_keys: set[str] = set()
        self.subjects: dict[str, str] = {}  # raw reference -> where it was first seen
        self.raw_entries: list[Any] = []
        self._by_reference: dict[str, JsonObject] | None = None
        self.intake_seen = False

    def note_subject(self, resource: JsonObject, path: str) -> None:
        for key in ("subject", "patient"):
            holder = resource.get(key)
            if holder is None:
                continue
            if type(holder) is not dict:
                opt_object(resource, key, path)  # raises with the path
            reference = holder.get("reference")
            if type(reference) is not str:
                opt_str(holder, "reference", child(path, key))  # raises unless absent
                continue
            if reference not in self.subjects and not reference.startswith("#"):
                self.subjects[reference] = f"{path}.{key}.reference"

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
            self.result.birth_date_recorded = birth

    def questionnaire_response(self, resource: JsonObject, path: str, *, required: bool) -> None:
        reference = opt_str(resource, "questionnaire", path)
        if reference is not None and not matches_questionnaire(reference, self.kb, INTAKE_ID):
            if required:
                raise InputError(
                    f"this QuestionnaireResponse answers {reference!r}; needlewise screens "
                    f"answers to {questionnaire_url(self.kb, INTAKE_ID)}",
                    child(path, "questionnaire"),
                )
            skipped = self.result.skipped
            skipped["QuestionnaireResponse"] = skipped.get("QuestionnaireResponse", 0) + 1
            return
        status = opt_str(resource, "status", path)
        if status == "entered-in-error":
            raise InputError(
                "the QuestionnaireResponse is marked entered-in-error", child(path, "status")
            )
        if self.intake_seen:
            raise InputError("more than one intake QuestionnaireResponse; send one", path)
        self.intake_seen = True
        self.note_subject(resource, path)
        self.result.answers = read_intake_answers(resource, path, self.rule_ids)

    def resolve_medication(self, reference: str) -> JsonObject | None:
        if self._by_reference is None:  # built only when a medicationReference needs it
            index: dict[str, JsonObject] = {}
            for entry in self.raw_entries:
                if type(entry) is not dict or type(entry.get("resource")) is not dict:
                    continue
                resource = entry["resource"]
                full_url = entry.get("fullUrl")
                if type(full_url) is str:
                    index[_reference_key(full_url)] = resource
                rid = resource.get("id")
                if type(rid) is str:
                    index[f"{resource.get('resourceType')}/{rid}"] = resource
            self._by_reference = index
        return self._by_reference.get(_reference_key(reference))

    def bundle(self, bundle: JsonObject) -> None:
        kind = opt_str(bundle, "type", "$")
        if kind not in BUNDLE_TYPES:
            raise InputError(
                f"Bundle.type must be one of {', '.join(BUNDLE_TYPES)}; found {kind!r}", "$.type"
            )
        self.raw_entries = opt_list(bundle, "entry", "$")
        records = self.result.records
        skipped = self.result.skipped
        subjects = self.subjects
        codes = self.kb.codes
        for i, entry in enumerate(self.raw_entries):
            if type(entry) is not dict:
                expect_object(entry, f"$.entry[{i}]", "an entry object")
            resource = entry.get("resource")
            if resource is None:
                continue  # e.g. a transaction DELETE entry
            if type(resource) is not dict:
                expect_object(resource, f"$.entry[{i}].resource", "a resource object")
            resource_type = resource.get("resourceType")
            if resource_type in SCREENED_TYPES:
                # the one-patient check reads every subject; the common case stays inline
                holder = resource.get("subject") or resource.get("patient")
                reference = holder.get("reference") if type(holder) is dict else None
                if type(reference) is not str or reference not in subjects:
                    self.note_subject(resource, f"$.entry[{i}].resource")
                if may_fire(resource_type, resource, codes):
                    record = read_record(
                        resource,
                        f"$.entry[{i}].resource",
                        self.resolve_medication,
                        entry.get("fullUrl"),
                    )
                    if record is not None:
                        records.append(record)
                        continue
            elif type(resource_type) is not str:
                raise InputError("resource without a resourceType", f"$.entry[{i}].resource")
            elif resource_type == "Patient":
                full_url = opt_str(entry, "fullUrl", f"$.entry[{i}]")
                self.patient(resource, f"$.entry[{i}].resource", full_url)
                continue
            elif resource_type == "QuestionnaireResponse":
                self.questionnaire_response(resource, f"$.entry[{i}].resource", required=False)
                continue
            skipped[resource_type] = skipped.get(resource_type, 0) + 1

    def check_one_patient(self) -> None:
        keys: dict[str, str] = {}
        for reference, path in self.subjects.items():
            keys.setdefault(_reference_key(reference), path)
        others = {k: p for k, p in keys.items() if k not in self.patient_keys}
        if self.patient_keys and others:
            key, path = next(iter(others.items()))
            raise InputError(f"refers to {key}, not to the Bundle's patient", path)
        if not self.patient_keys and len(keys) > 1:
            path = list(keys.values())[1]  # the first reference that differs, in reading order
            raise InputError(
                f"resources refer to {len(keys)} different patients; screen one patient at a time",
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
