"""The clinic's own record: name, phone numbers, languages offered, and its aftercare
settings — time zone, quiet hours, the address alerts go to, and its changes to the
check-in schedule (:mod:`needlewise.services.aftercare_config`).

The aftercare fields of :class:`ClinicIn` are optional: a client that leaves one out (an
integration written before they existed) keeps the stored value. ``alert_email`` set to
an empty string removes the address (alerts then wait in the outbox for staff to phone).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select

from needlewise.errors import InputError, NotFound
from needlewise.languages import LANGUAGES
from needlewise.persistence.models import Clinic
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.aftercare_config import ClinicAftercare, clinic_aftercare
from needlewise.services.clinic_time import parse_zone
from needlewise.services.fields import Label, Name
from needlewise.services.records import check_version, edit
from needlewise.services.runtime import Runtime

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _clock_time(text: str) -> str:
    if not _CLOCK.match(text):
        raise ValueError("give a time of day as HH:MM, from 00:00 to 23:59")
    return text


def _zone_name(text: str) -> str:
    try:
        return str(parse_zone(text).key)
    except InputError as error:
        raise ValueError(error.problem) from None


ClockTime = Annotated[str, AfterValidator(_clock_time)]
ZoneName = Annotated[str, AfterValidator(_zone_name)]


class ClinicOut(BaseModel):
    id: int
    name: str
    phones: list[str]
    languages: list[str]
    #: IANA time zone every time is shown and scheduled in
    time_zone: str
    #: local times between which check-ins wait for the morning (unless safety-critical)
    quiet_hours_start: str
    quiet_hours_end: str
    #: where alerts about emergency and call-provider check-ins go (none: the outbox)
    alert_email: str | None
    aftercare: ClinicAftercare
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
    time_zone: ZoneName | None = None
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None
    alert_email: EmailStr | Annotated[str, Field(max_length=0)] | None = None
    aftercare: ClinicAftercare | None = None

    def apply_aftercare(self, clinic: Clinic) -> None:
        """Set the aftercare fields that were sent; keep the others."""
        if self.time_zone is not None:
            clinic.time_zone = self.time_zone
        if self.quiet_hours_start is not None:
            clinic.quiet_hours_start = self.quiet_hours_start
        if self.quiet_hours_end is not None:
            clinic.quiet_hours_end = self.quiet_hours_end
        if self.alert_email is not None:
            clinic.alert_email = str(self.alert_email) or None
        if self.aftercare is not None:
            stored: dict[str, Any] = self.aftercare.model_dump(mode="json")
            clinic.aftercare = stored


def _out(clinic: Clinic) -> ClinicOut:
    return ClinicOut(
        id=clinic.id,
        name=clinic.name,
        phones=list(clinic.phones),
        languages=list(clinic.languages),
        time_zone=clinic.time_zone,
        quiet_hours_start=clinic.quiet_hours_start,
        quiet_hours_end=clinic.quiet_hours_end,
        alert_email=clinic.alert_email,
        aftercare=clinic_aftercare(clinic.aftercare),
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
        data.apply_aftercare(clinic)
        tx.flush()
        audit.record(tx, actor, "update", "clinic", clinic.id)
        out = _out(clinic)
    runtime.clinic_zones.forget(out.id)
    return out


def create_clinic(runtime: Runtime, data: ClinicIn) -> int:
    """A new clinic (set-up and demo data; no actor yet)."""
    with runtime.db.write() as tx:
        clinic = Clinic(name=data.name, phones=data.phones, languages=data.languages)
        data.apply_aftercare(clinic)
        tx.add(clinic)
        tx.flush()
        audit.record(tx, Actor.system(), "create", "clinic", clinic.id, clinic_id=clinic.id)
        return clinic.id


def first_clinic_id(runtime: Runtime) -> int | None:
    with runtime.db.read() as tx:
        return tx.scalar(select(Clinic.id).order_by(Clinic.id).limit(1))
