"""Patients: demographics, preferred language and contact details.

Every read of a patient record is audited (one entry per patient returned), as is every
change. Updates need the ``If-Match`` version, so concurrent edits are never lost.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from needlewise.errors import NotFound
from needlewise.languages import Language
from needlewise.persistence.models import Patient
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.fields import Label, Name
from needlewise.services.paging import Page, PageParams
from needlewise.services.records import check_version, edit
from needlewise.services.runtime import Runtime


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_name: Name = Field(min_length=1, max_length=100)
    family_name: Name = Field(min_length=1, max_length=100)
    birth_date: date | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    preferred_language: Language = "en"
    phone: Label | None = Field(default=None, max_length=40)
    email: EmailStr | None = None
    address: str | None = Field(default=None, max_length=500)


class PatientPatch(BaseModel):
    """Fields to change; a field left out is unchanged. Names and language cannot be null."""

    model_config = ConfigDict(extra="forbid")
    given_name: Name | None = Field(default=None, min_length=1, max_length=100)
    family_name: Name | None = Field(default=None, min_length=1, max_length=100)
    birth_date: date | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    preferred_language: Language | None = None
    phone: Label | None = Field(default=None, max_length=40)
    email: EmailStr | None = None
    address: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _required_stay_set(self) -> PatientPatch:
        for name in ("given_name", "family_name", "preferred_language"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed (null); leave it out to keep it")
        return self


class PatientOut(BaseModel):
    id: int
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str | None
    preferred_language: str
    phone: str | None
    email: str | None
    address: str | None
    version: int


def _out(patient: Patient) -> PatientOut:
    return PatientOut.model_validate(patient, from_attributes=True)


def get_in_clinic(tx: Session, actor: Actor, patient_id: int) -> Patient:
    """The patient, if it belongs to the actor's clinic (``NotFound`` otherwise)."""
    patient = tx.get(Patient, patient_id)
    ensure_visible(actor, patient_id, None if patient is None else patient.clinic_id)
    assert patient is not None  # ensure_visible refuses a missing patient
    return patient


def ensure_visible(actor: Actor, patient_id: int, clinic_id: int | None) -> None:
    """``NotFound`` unless patient ``patient_id`` (of clinic ``clinic_id``; ``None``: no
    such patient) is the actor's to see: same clinic, and a patient link opens only its
    own patient. For queries that read a patient's columns without loading the record."""
    if clinic_id is None or (actor.clinic_id is not None and clinic_id != actor.clinic_id):
        raise NotFound(f"no patient {patient_id}")
    if actor.patient_id is not None and actor.patient_id != patient_id:
        raise NotFound(f"no patient {patient_id}")  # a patient link opens only its own patient


def create_patient(runtime: Runtime, actor: Actor, data: PatientIn) -> PatientOut:
    actor.require("patients:write")
    with runtime.db.write() as tx:
        patient = Patient(clinic_id=actor.clinic_id, **data.model_dump(mode="python"))
        if data.email is not None:
            patient.email = str(data.email)
        tx.add(patient)
        tx.flush()
        audit.record(tx, actor, "create", "patient", patient.id, patient.id)
        return _out(patient)


def get_patient(runtime: Runtime, actor: Actor, patient_id: int) -> PatientOut:
    actor.require("patients:read")
    with runtime.db.read() as tx:
        out = _out(get_in_clinic(tx, actor, patient_id))
    audit.record_reads(runtime.db, actor, "patient", [(out.id, out.id)])
    return out


def list_patients(
    runtime: Runtime,
    actor: Actor,
    page: PageParams,
    q: str | None = None,
    language: str | None = None,
) -> Page[PatientOut]:
    """Patients of the clinic; ``q`` matches the start of the given or family name,
    ignoring case, literally (``%`` and ``_`` are no wildcards)."""
    actor.require("patients:read")
    conditions = [Patient.clinic_id == actor.clinic_id]
    if q:
        # a literal prefix: autoescape makes % and _ (and the escape character) plain text
        start = q.strip().lower()
        conditions.append(
            or_(
                func.lower(Patient.family_name).startswith(start, autoescape=True),
                func.lower(Patient.given_name).startswith(start, autoescape=True),
            )
        )
    if language:
        conditions.append(Patient.preferred_language == language)
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(Patient).where(*conditions)) or 0
        rows = tx.scalars(
            select(Patient)
            .where(*conditions)
            .order_by(Patient.family_name, Patient.given_name, Patient.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_out(p) for p in rows]
    audit.record_reads(runtime.db, actor, "patient", [(p.id, p.id) for p in items])
    return Page[PatientOut](items=items, total=total, limit=page.limit, offset=page.offset)


def update_patient(
    runtime: Runtime, actor: Actor, patient_id: int, expected_version: int, data: PatientPatch
) -> PatientOut:
    actor.require("patients:write")
    with edit(runtime.db, "patient") as tx:
        patient = get_in_clinic(tx, actor, patient_id)
        check_version("patient", patient.version, expected_version)
        for key, value in data.model_dump(exclude_unset=True, mode="python").items():
            setattr(patient, key, str(value) if key == "email" and value is not None else value)
        tx.flush()
        audit.record(tx, actor, "update", "patient", patient.id, patient.id)
        return _out(patient)
