"""The clinic's own record (name, phone numbers, languages offered)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from needlewise.errors import NotFound
from needlewise.languages import LANGUAGES
from needlewise.persistence.models import Clinic
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.fields import Label, Name
from needlewise.services.records import check_version, edit
from needlewise.services.runtime import Runtime


class ClinicOut(BaseModel):
    id: int
    name: str
    phones: list[str]
    languages: list[str]
    version: int


class ClinicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(min_length=1, max_length=200)
    phones: list[Annotated[Label, Field(min_length=1, max_length=40)]] = Field(
        default=[], max_length=10
    )
    languages: list[str] = Field(
        default=[str(code) for code in LANGUAGES], min_length=1, max_length=20
    )


def _out(clinic: Clinic) -> ClinicOut:
    return ClinicOut(
        id=clinic.id,
        name=clinic.name,
        phones=list(clinic.phones),
        languages=list(clinic.languages),
        version=clinic.version,
    )


def get_clinic(runtime: Runtime, actor: Actor) -> ClinicOut:
    actor.require("clinic:read")
    with runtime.db.read() as tx:
        clinic = tx.get(Clinic, actor.clinic_id)
        if clinic is None:
            raise NotFound("no clinic")
        return _out(clinic)


def clinic_phones(runtime: Runtime, actor: Actor) -> list[str]:
    """The phone numbers of the caller's clinic, in the clinic's order (the first is the
    day number, the second the after-hours one). Any caller of the clinic may have them —
    staff, or a patient through a link: they are printed on every take-home sheet."""
    if actor.clinic_id is None:
        raise NotFound("no clinic")
    with runtime.db.read() as tx:
        clinic = tx.get(Clinic, actor.clinic_id)
        if clinic is None:
            raise NotFound("no clinic")
        return list(clinic.phones)


def update_clinic(
    runtime: Runtime, actor: Actor, expected_version: int, data: ClinicIn
) -> ClinicOut:
    actor.require("clinic:write")
    with edit(runtime.db, "clinic") as tx:
        clinic = tx.get(Clinic, actor.clinic_id)
        if clinic is None:
            raise NotFound("no clinic")
        check_version("clinic", clinic.version, expected_version)
        clinic.name, clinic.phones, clinic.languages = data.name, data.phones, data.languages
        tx.flush()
        audit.record(tx, actor, "update", "clinic", clinic.id)
        return _out(clinic)


def create_clinic(runtime: Runtime, data: ClinicIn) -> int:
    """A new clinic (set-up and demo data; no actor yet)."""
    with runtime.db.write() as tx:
        clinic = Clinic(name=data.name, phones=data.phones, languages=data.languages)
        tx.add(clinic)
        tx.flush()
        audit.record(tx, Actor.system(), "create", "clinic", clinic.id, clinic_id=clinic.id)
        return clinic.id


def first_clinic_id(runtime: Runtime) -> int | None:
    with runtime.db.read() as tx:
        return tx.scalar(select(Clinic.id).order_by(Clinic.id).limit(1))
