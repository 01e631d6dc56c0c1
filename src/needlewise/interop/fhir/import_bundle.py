"""Read a FHIR R4 document for import: what to create or match, and every problem in it.

Takes a Bundle (``transaction``, ``batch`` or ``collection``) or one bare resource, and
returns an :class:`ImportPlan`: the Patients (with the identifiers that find them again
and the demographics of a new patient record), the clinical records (Condition,
MedicationStatement, MedicationRequest, Observation, AllergyIntolerance, and Procedure,
which screening reads too) with the
identity that makes a second import of them the same record and the patient each is
about, and the resource types skipped. Nothing here touches the database: matching
identifiers against stored patients is the use case's
(:mod:`needlewise.services.fhir_import`).

Every entry is read, and every problem is collected (not only the first), each naming
its JSON path (``$.entry[3].resource.subject``) and never the value that caused it.
Each resource is first validated against the ``fhir.resources`` R4B model of its type
(imported on first use: it is slow to import). Medication resources in the Bundle are
not stored on their own: a MedicationRequest/Statement that refers to one keeps a copy
of it as a contained resource, so screening reads the medicine later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from needlewise.errors import InputError
from needlewise.interop.fhir.access import JsonObject, kind_of
from needlewise.interop.fhir.import_patient import read_patient_fields
from needlewise.interop.fhir.validation import validation_problems

#: clinical resource types imported as records (kept as the FHIR JSON they came as)
RECORD_TYPES = (
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
)
#: resources read only as part of a record that refers to them
SUPPORTING_TYPES = ("Medication",)
BUNDLE_TYPES = ("transaction", "batch", "collection")
#: the longest identity a record may have (``clinical_records.identity``)
IDENTITY_MAX = 600
#: the longest identifier system and value (``patient_identifiers``)
IDENTIFIER_MAX = 255
_ENTRY_METHODS = ("POST", "PUT")


@dataclass(frozen=True)
class ImportProblem:
    """One reason an entry cannot be imported; ``conflict`` when it clashes with other
    patients (the same identifier on two of them)."""

    where: str
    problem: str
    conflict: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class PatientEntry:
    """A Patient to match by identifier, or to create."""

    index: int | None
    path: str
    #: (system, value) pairs, in the order given
    identifiers: list[tuple[str, str]]
    #: PatientIn field -> (value, JSON path it came from)
    fields: dict[str, tuple[Any, str]]
    #: reference keys that name this Patient (``Patient/id``, its fullUrl)
    keys: set[str] = field(default_factory=set)


@dataclass
class RecordEntry:
    """A clinical record for one patient."""

    index: int | None
    path: str
    resource_type: str
    identity: str
    resource: JsonObject
    #: where the patient reference is (``$.entry[3].resource.subject``)
    subject_path: str
    #: the Patient of this document it is about (index into :attr:`ImportPlan.patients`)
    patient: int | None = None
    #: or an identifier of a patient stored already (``Patient?identifier=system|value``)
    conditional: tuple[str, str] | None = None


@dataclass
class ImportPlan:
    """What a document asks to import."""

    bundle_type: str | None
    #: the number of entries (1 for a bare resource)
    size: int = 0
    patients: list[PatientEntry] = field(default_factory=list)
    records: list[RecordEntry] = field(default_factory=list)
    #: resource type -> entries skipped (types not imported; Medication kept in records)
    skipped: dict[str, int] = field(default_factory=dict)
    #: (index, resource type) of the skipped entries
    skipped_entries: list[tuple[int, str]] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


def reference_key(reference: str) -> str:
    """Comparable key of a reference: ``urn:uuid:x`` as is, URLs as ``Type/id``."""
    if reference.startswith("urn:"):
        return reference
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return "/".join(parts[-2:])


def conditional_identifier(reference: str) -> tuple[str, str] | None:
    """``Patient?identifier=system|value`` -> (system, value); ``None`` if not one."""
    if not reference.startswith("Patient?"):
        return None
    query = parse_qs(reference[len("Patient?") :], keep_blank_values=True)
    values = query.get("identifier", [])
    if len(query) != 1 or len(values) != 1 or "|" not in values[0]:
        return None
    system, value = values[0].split("|", 1)
    return (system, value) if system and value else None


def identifiers_of(resource: JsonObject) -> list[tuple[str, str]]:
    """The (system, value) identifiers that have both (others cannot find a record
    again: an identifier without its system may be any system's)."""
    found: list[tuple[str, str]] = []
    raw = resource.get("identifier")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            system, value = item.get("system"), item.get("value")
            if not (isinstance(system, str) and isinstance(value, str)):
                continue
            if system and value and (system, value) not in found:
                found.append((system, value))
    return found


class _Reader:
    def __init__(self, plan: ImportPlan, *, skip_unsupported: bool) -> None:
        self.plan = plan
        self.skip_unsupported = skip_unsupported
        self.patient_by_key: dict[str, int] = {}
        self.medications: dict[str, JsonObject] = {}
        self.record_seen: dict[tuple[str, str, str], str] = {}
        self.identifier_seen: dict[tuple[str, str], str] = {}

    def problem(self, where: str, problem: str, *, conflict: bool = False) -> None:
        self.plan.problems.append(ImportProblem(where, problem, conflict))

    # ---------------------------------------------------------------- entries

    def entries(self, bundle: JsonObject) -> list[tuple[int | None, str, JsonObject, str | None]]:
        """(index, path, resource, fullUrl) of every well-formed entry; problems noted."""
        raw = bundle.get("entry", [])
        if not isinstance(raw, list):
            self.problem("$.entry", f"expected a list, found {kind_of(raw)}")
            return []
        self.plan.size = len(raw)
        found: list[tuple[int | None, str, JsonObject, str | None]] = []
        for i, entry in enumerate(raw):
            where = f"$.entry[{i}]"
            if not isinstance(entry, dict):
                self.problem(where, f"expected an entry object, found {kind_of(entry)}")
                continue
            request = entry.get("request")
            if isinstance(request, dict) and request.get("method") not in (None, *_ENTRY_METHODS):
                self.problem(
                    f"{where}.request.method",
                    "only POST and PUT entries are imported (no GET, DELETE or PATCH)",
                )
                continue
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                problem = "entry without a resource" if resource is None else (
                    f"expected a resource object, found {kind_of(resource)}"
                )  # fmt: skip
                self.problem(f"{where}.resource", problem)
                continue
            full_url = entry.get("fullUrl")
            if full_url is not None and not isinstance(full_url, str):
                self.problem(f"{where}.fullUrl", f"expected a string, found {kind_of(full_url)}")
                continue
            found.append((i, f"{where}.resource", resource, full_url))
        return found

    def sort(self, found: list[tuple[int | None, str, JsonObject, str | None]]) -> None:
        """First pass: validate, read the Patients and index the Medications."""
        pending: list[tuple[int | None, str, JsonObject, str | None]] = []
        for index, path, resource, full_url in found:
            kind = resource.get("resourceType")
            if not isinstance(kind, str):
                self.problem(f"{path}.resourceType", "resource without a resourceType")
                continue
            if kind not in ("Patient", *RECORD_TYPES, *SUPPORTING_TYPES):
                if self.skip_unsupported:
                    self.plan.skipped[kind] = self.plan.skipped.get(kind, 0) + 1
                    if index is not None:
                        self.plan.skipped_entries.append((index, kind))
                else:
                    self.problem(
                        f"{path}.resourceType",
                        f"{kind} is not imported; send Patient, "
                        f"{', '.join(RECORD_TYPES)} (and Medication they refer to)",
                    )
                continue
            problems = validation_problems(resource, kind, path)
            if problems:
                self.plan.problems.extend(ImportProblem(w, p) for w, p in problems)
                continue
            if kind == "Patient":
                self.patient(index, path, resource, full_url)
            elif kind == "Medication":
                for key in _keys(kind, resource, full_url):
                    self.medications[key] = resource
                self.plan.skipped[kind] = self.plan.skipped.get(kind, 0) + 1
                if index is not None:
                    self.plan.skipped_entries.append((index, kind))
            else:
                pending.append((index, path, resource, full_url))
        for index, path, resource, full_url in pending:
            self.record(index, path, resource, full_url)

    # ---------------------------------------------------------------- Patients

    def patient(
        self, index: int | None, path: str, resource: JsonObject, full_url: str | None
    ) -> None:
        identifiers = identifiers_of(resource)
        if not identifiers:
            self.problem(
                f"{path}.identifier",
                "a Patient to import needs an identifier with a system and a value, so that "
                "a second import finds the same patient",
            )
            return
        for system, value in identifiers:
            if len(system) > IDENTIFIER_MAX or len(value) > IDENTIFIER_MAX:
                self.problem(
                    f"{path}.identifier",
                    f"an identifier system or value is over {IDENTIFIER_MAX} characters",
                )
                return
            first = self.identifier_seen.setdefault((system, value), path)
            if first != path:
                self.problem(
                    f"{path}.identifier",
                    f"an identifier (system {system}) is also on the Patient at {first}: "
                    "two patients cannot share one",
                    conflict=True,
                )
                return
        fields, problems = read_patient_fields(resource, path)
        if problems:
            self.plan.problems.extend(ImportProblem(w, p) for w, p in problems)
            return
        keys = _keys("Patient", resource, full_url)
        slot = len(self.plan.patients)
        for key in keys:
            if key in self.patient_by_key:
                self.problem(path, "another Patient of this Bundle has the same id or fullUrl")
                return
        for key in keys:
            self.patient_by_key[key] = slot
        self.plan.patients.append(PatientEntry(index, path, identifiers, fields, keys))

    # ---------------------------------------------------------------- records

    def record(
        self, index: int | None, path: str, resource: JsonObject, full_url: str | None
    ) -> None:
        kind = str(resource["resourceType"])
        identity = _identity(kind, resource, full_url)
        if identity is None:
            self.problem(
                path,
                f"a {kind} to import needs an identifier (system and value) or an id, so that "
                "a second import finds the same record",
            )
            return
        if len(identity) > IDENTITY_MAX:
            self.problem(f"{path}.identifier", f"the identifier is over {IDENTITY_MAX} characters")
            return
        key = "patient" if kind == "AllergyIntolerance" else "subject"
        subject_path = f"{path}.{key}"
        holder = resource.get(key)
        reference = holder.get("reference") if isinstance(holder, dict) else None
        if not isinstance(reference, str) or not reference:
            self.problem(subject_path, "required: a reference to the Patient this record is about")
            return
        entry = RecordEntry(
            index, path, kind, identity, _with_medication(resource, self.medications), subject_path
        )
        conditional = conditional_identifier(reference)
        if conditional is not None:
            entry.conditional = conditional
        elif reference.startswith("Patient?"):
            self.problem(
                f"{subject_path}.reference",
                "a conditional reference must be Patient?identifier=system|value",
            )
            return
        else:
            slot = self.patient_by_key.get(reference_key(reference))
            if slot is None:
                self.problem(
                    f"{subject_path}.reference",
                    "refers to a patient not in this bundle; refer to a Patient of the bundle, "
                    "or to a stored patient as Patient?identifier=system|value",
                )
                return
            entry.patient = slot
        who = f"patient {entry.patient}" if entry.conditional is None else repr(entry.conditional)
        first = self.record_seen.setdefault((who, kind, identity), path)
        if first != path:
            self.problem(path, f"the same {kind} (same identifier or id) is also at {first}")
            return
        self.plan.records.append(entry)


def _keys(kind: str, resource: JsonObject, full_url: str | None) -> set[str]:
    keys = set()
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        keys.add(f"{kind}/{rid}")
    if full_url:
        keys.add(reference_key(full_url))
    return keys


def _identity(kind: str, resource: JsonObject, full_url: str | None) -> str | None:
    """First identifier ``system|value``, else ``Type/id``, else the fullUrl."""
    identifiers = identifiers_of(resource)
    if identifiers:
        system, value = identifiers[0]
        return f"{system}|{value}"
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return f"{kind}/{rid}"
    return full_url or None


def _with_medication(resource: JsonObject, medications: dict[str, JsonObject]) -> JsonObject:
    """``resource``, with the Bundle's Medication it refers to kept as a contained one."""
    holder = resource.get("medicationReference")
    reference = holder.get("reference") if isinstance(holder, dict) else None
    if not isinstance(reference, str) or reference.startswith("#"):
        return resource
    medication = medications.get(reference_key(reference))
    if medication is None:
        return resource  # kept as sent: screening reports a medicine it cannot read
    contained = list(resource.get("contained") or [])
    taken = {item.get("id") for item in contained if isinstance(item, dict)}
    local = str(medication.get("id") or "medication")
    if local in taken:
        return resource
    assert isinstance(holder, dict)
    return {
        **resource,
        "contained": [*contained, {**medication, "id": local}],
        "medicationReference": {**holder, "reference": f"#{local}"},
    }


def read_import(document: Any, *, skip_unsupported: bool = True) -> ImportPlan:
    """Read ``document`` (parsed JSON) into an :class:`ImportPlan`.

    Structural problems of the whole document (not a JSON object, a Bundle type that is
    not imported) raise :class:`~needlewise.errors.InputError`; problems of entries are
    collected in :attr:`ImportPlan.problems`. With ``skip_unsupported`` resource types
    that are not imported (Encounter, Claim …) are counted in ``skipped``; without it,
    each is a problem (a FHIR transaction is all or nothing).
    """
    if not isinstance(document, dict):
        raise InputError(f"expected a FHIR resource (a JSON object), found {kind_of(document)}")
    kind = document.get("resourceType")
    if not isinstance(kind, str):
        raise InputError("expected a FHIR resource: resourceType is missing", "$.resourceType")
    if kind == "Bundle":
        bundle_type = document.get("type")
        if bundle_type not in BUNDLE_TYPES:
            raise InputError(
                f"import takes a Bundle of type {', '.join(BUNDLE_TYPES)}; found "
                f"{bundle_type!r}" if isinstance(bundle_type, str) else
                f"import takes a Bundle of type {', '.join(BUNDLE_TYPES)}",
                "$.type",
            )  # fmt: skip
        plan = ImportPlan(bundle_type=str(bundle_type))
        reader = _Reader(plan, skip_unsupported=skip_unsupported)
        reader.sort(reader.entries(document))
        return plan
    plan = ImportPlan(bundle_type=None, size=1)
    reader = _Reader(plan, skip_unsupported=skip_unsupported)
    reader.sort([(None, "$", document, None)])
    return plan


__all__ = [
    "BUNDLE_TYPES",
    "RECORD_TYPES",
    "ImportPlan",
    "ImportProblem",
    "PatientEntry",
    "RecordEntry",
    "conditional_identifier",
    "identifiers_of",
    "read_import",
    "reference_key",
]
