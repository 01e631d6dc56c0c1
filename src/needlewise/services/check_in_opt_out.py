"""A patient's opt-out from check-in messages: by their own link or recorded by staff.

:func:`opt_out_by_link` serves the patient's ``/p/{token}/stop`` page (the token is the
session's check-in link): it records ``check_ins_opted_out_by`` = ``link:ID``. Staff
record one (the patient phoned) or clear it with :func:`set_opt_out` (``patients:write``).
Opting out cancels every scheduled check-in message of the patient (``opted-out``);
clearing it brings none back: the next recorded session schedules again
(:mod:`needlewise.services.aftercare_schedule`). Every change is audited
(``opt-out`` / ``opt-in`` on ``check-ins``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.orm import Session

from needlewise.errors import NotFound
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import OutboundMessage
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.aftercare_schedule import PATIENT_KINDS
from needlewise.services.patients import get_in_clinic
from needlewise.services.runtime import Runtime


def _cancel_all(tx: Session, patient_id: int, reason: str) -> int:
    result = tx.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.patient_id == patient_id,
            OutboundMessage.kind.in_(PATIENT_KINDS),
            OutboundMessage.state == "scheduled",
        )
        .values(
            state="cancelled",
            cancel_reason=reason,
            updated_at=utcnow(),
            version=OutboundMessage.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class OptOutOut(BaseModel):
    patient_id: int
    opted_out: bool
    opted_out_at: datetime | None
    opted_out_by: str | None
    cancelled: int = Field(description="Scheduled check-in messages cancelled now")


def opt_out_by_link(runtime: Runtime, actor: Actor) -> OptOutOut:
    """The patient's own opt-out through their check-in link (``/p/{token}/stop``):
    records ``link:ID`` as who, cancels every scheduled check-in message (``opted-out``)."""
    if actor.patient_id is None or actor.link_purpose != "check-in":
        raise NotFound("this link is not valid")
    return _set(runtime, actor, actor.patient_id, opted_out=True)


def set_opt_out(runtime: Runtime, actor: Actor, patient_id: int, opted_out: bool) -> OptOutOut:
    """Staff record (the patient phoned) or clear an opt-out; audited. Clearing it does
    not bring back cancelled messages: the next recorded session schedules again."""
    actor.require("patients:write")
    return _set(runtime, actor, patient_id, opted_out=opted_out)


def _set(runtime: Runtime, actor: Actor, patient_id: int, *, opted_out: bool) -> OptOutOut:
    cancelled = 0
    with runtime.db.write() as tx:
        patient = get_in_clinic(tx, actor, patient_id)
        if opted_out:
            if patient.check_ins_opted_out_at is None:
                patient.check_ins_opted_out_at = utcnow()
                patient.check_ins_opted_out_by = actor.ref
            cancelled = _cancel_all(tx, patient.id, "opted-out")
        else:
            patient.check_ins_opted_out_at = None
            patient.check_ins_opted_out_by = None
        audit.record(
            tx,
            actor,
            "opt-out" if opted_out else "opt-in",
            "check-ins",
            patient.id,
            patient.id,
        )
        tx.flush()
        return OptOutOut(
            patient_id=patient.id,
            opted_out=patient.check_ins_opted_out_at is not None,
            opted_out_at=patient.check_ins_opted_out_at,
            opted_out_by=patient.check_ins_opted_out_by,
            cancelled=cancelled,
        )


def opted_out(runtime: Runtime, actor: Actor) -> bool:
    """Whether the patient of this check-in link has opted out already."""
    if actor.patient_id is None:
        raise NotFound("this link is not valid")
    with runtime.db.read() as tx:
        patient = get_in_clinic(tx, actor, actor.patient_id)
        return patient.check_ins_opted_out_at is not None
