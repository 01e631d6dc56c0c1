"""Create a patient from a FHIR R4 Patient (``POST /fhir/Patient``).

The same record as ``POST /api/patients`` (the mapping is
:mod:`needlewise.interop.fhir.import_patient`), plus the Patient's identifiers
(``patient_identifiers``). An identifier another patient of the clinic already has is
a conflict (409): two patients cannot share one. With a conditional create
(``If-None-Exist: identifier=system|value``) the patient who has that identifier is
returned instead, and nothing is written (FHIR R4 §3.1.0.8.1, "conditional create").
Audited like the JSON API (``create`` ``patient``; ``match`` when an existing one is
returned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from needlewise.errors import Conflict, InputError
from needlewise.interop.fhir.access import kind_of
from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.import_bundle import (
    IDENTIFIER_MAX,
    ImportProblem,
    PatientEntry,
    conditional_identifier,
    identifiers_of,
)
from needlewise.interop.fhir.import_patient import read_patient_fields
from needlewise.interop.fhir.validation import validation_problems
from needlewise.persistence.models import Patient, PatientIdentifier
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.fhir_import import ImportRefused, find_patients, patient_in
from needlewise.services.patients import PatientIn
from needlewise.services.runtime import Runtime


@dataclass(frozen=True)
class PatientCreated:
    """The patient's id and version, and whether it was created (False: an existing
    patient matched the conditional create)."""

    patient_id: int
    version: int
    created: bool


def if_none_exist(header: str | None) -> tuple[str, str] | None:
    """The identifier of an ``If-None-Exist: identifier=system|value`` header."""
    if header is None:
        return None
    found = conditional_identifier(f"Patient?{header.strip()}")
    if found is None:
        raise InputError("If-None-Exist must be identifier=system|value", "If-None-Exist")
    return found


def _entry(resource: Any) -> PatientEntry:
    if not isinstance(resource, dict):
        raise InputError(f"expected a Patient resource, found {kind_of(resource)}")
    if resource.get("resourceType") != "Patient":
        raise InputError("POST /fhir/Patient takes a Patient resource", "$.resourceType")
    problems = [ImportProblem(w, p) for w, p in validation_problems(resource, "Patient", "$")]
    if not problems:
        fields, found = read_patient_fields(resource, "$")
        problems = [ImportProblem(w, p) for w, p in found]
    if problems:
        raise ImportRefused(problems)
    identifiers = identifiers_of(resource)
    if any(len(s) > IDENTIFIER_MAX or len(v) > IDENTIFIER_MAX for s, v in identifiers):
        raise InputError(f"an identifier is over {IDENTIFIER_MAX} characters", "$.identifier")
    return PatientEntry(None, "$", identifiers, fields)


def create_patient_resource(
    runtime: Runtime, actor: Actor, resource: Any, condition: tuple[str, str] | None = None
) -> PatientCreated:
    """Create the patient ``resource`` (parsed FHIR JSON) describes, in the caller's
    clinic; with ``condition`` (an identifier), return the patient who has it instead."""
    actor.require("patients:write")
    entry = _entry(resource)
    data = patient_in(entry)
    if isinstance(data, list):
        raise ImportRefused(data)
    try:
        return _create(runtime, actor, entry, data, condition)
    except IntegrityError:
        raise Conflict(
            "another request stored one of these identifiers at the same time; nothing was "
            "written: send it again (with If-None-Exist to reuse that patient)"
        ) from None


def _create(
    runtime: Runtime,
    actor: Actor,
    entry: PatientEntry,
    data: PatientIn,
    condition: tuple[str, str] | None,
) -> PatientCreated:
    with runtime.db.write() as tx:
        wanted = [*entry.identifiers, *([condition] if condition else [])]
        known = find_patients(tx, actor.clinic_id, wanted)
        if condition is not None and condition in known:
            patient_id = known[condition]
            patient = tx.get(Patient, patient_id)
            assert patient is not None
            audit.record(tx, actor, "match", "patient", patient_id, patient_id)
            return PatientCreated(patient_id, patient.version, created=False)
        taken = sorted({known[i] for i in entry.identifiers if i in known})
        if taken:
            raise Conflict(
                "another patient of this clinic already has one of these identifiers "
                f"(Patient/{ids.patient(taken[0])}); send If-None-Exist: identifier=system|value to "
                "reuse that patient",
                location="$.identifier",
            )
        row = Patient(clinic_id=actor.clinic_id, **data.model_dump(mode="python"))
        if data.email is not None:
            row.email = str(data.email)
        tx.add(row)
        tx.flush()
        for system, value in entry.identifiers:
            tx.add(
                PatientIdentifier(
                    clinic_id=actor.clinic_id,
                    patient_id=row.id,
                    system=system,
                    value=value,
                    created_by=actor.ref,
                )
            )
        audit.record(tx, actor, "create", "patient", row.id, row.id)
        tx.flush()
        return PatientCreated(row.id, row.version, created=True)
