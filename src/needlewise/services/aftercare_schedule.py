"""Scheduling a session's check-in messages, re-planning them, and stopping them.

Recording a session (:func:`needlewise.services.sessions.create_session`) calls
:func:`schedule_session` in the same transaction as the session insert: if the session is
refused or rolls back, no message exists. It writes

* one multi-use ``check-in`` :class:`PatientLink` for the session, valid until the last
  planned message plus the knowledge base's ``link_margin_hours``;
* one ``outbound_messages`` row per invitation (kind ``check-in``, idempotency key
  ``checkin:{session_id}:{rule}``; after a re-plan ``checkin:{session_id}:{rule}:v{n}``
  with the session's version ``n``) and one reminder row per invitation (kind
  ``check-in-reminder``, ``parent_id`` the invitation, key ``reminder:{parent_id}``).

The channel is ``email`` when the patient has an email address (the worker reads the
current address when it sends; ``recipient`` stays empty), else ``outbox`` (the clinic
phones or texts the patient itself). The language is the patient's preferred one.
``params`` hold the rule id, its hours and the thoracic flag: never names or text.

Nothing is scheduled for a patient who opted out (the session's answer says so), and a
session recorded long after the fact gets only the invitations that are not more than
``late_entry_hours`` late (see :mod:`needlewise.domain.check_in_schedule`); the
opt-out itself is :mod:`needlewise.services.check_in_opt_out`. After the
commit the door-side caller tells the worker: ``runtime.jobs.wake(earliest_due)``.

:func:`replan_session` (muscles changed), :func:`check_in_answered` (a check-in came in:
due reminders are cancelled, reason ``answered``) and :func:`session_schedule` (what a
session will send) complete the use cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session, aliased

from needlewise.domain.check_in_schedule import (
    PlannedMessage,
    QuietHours,
    SchedulePlan,
    near_lung,
    plan_check_ins,
)
from needlewise.errors import NotFound
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import (
    Clinic,
    OutboundMessage,
    Patient,
    PatientLink,
    TreatmentSession,
)
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.aftercare_config import clinic_aftercare
from needlewise.services.runtime import Runtime

PATIENT_KINDS = ("check-in", "check-in-reminder")
#: states of a message that has gone (or is going) out: a re-plan leaves its rule alone
GONE = ("sending", "sent", "handled", "failed")


class PlannedOut(BaseModel):
    """One message the clinic will send (or must send itself) after the session."""

    id: int
    kind: Literal["check-in", "check-in-reminder"]
    rule: str
    due_at: datetime
    channel: Literal["email", "outbox"]
    state: str
    thoracic: bool = Field(description="In the thoracic window: sent even in quiet hours")
    cancel_reason: str | None = None
    reasons: list[str] = Field(default_factory=list, description="Why this time (when planned)")


class SkippedOut(BaseModel):
    rule: str
    reason: str


class ScheduleOut(BaseModel):
    """What will be sent after a session, and why."""

    status: Literal["scheduled", "opted-out", "nothing-due"] = Field(
        description="opted-out: the patient asked for no check-ins, nothing was scheduled"
    )
    near_lung: bool | None = Field(default=None, description="Counted as needled near the lung")
    near_lung_reasons: list[str] = Field(default_factory=list)
    messages: list[PlannedOut] = Field(default_factory=list)
    skipped: list[SkippedOut] = Field(default_factory=list)


def _zone(clinic: Clinic) -> ZoneInfo:
    try:
        return ZoneInfo(clinic.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the clinic form validates zones; an old bad value → UTC


def _quiet(clinic: Clinic, kb: KnowledgeBase) -> QuietHours:
    defaults = kb.data.aftercare_schedule.defaults
    try:
        return QuietHours.parse(clinic.quiet_hours_start, clinic.quiet_hours_end)
    except ValueError:
        return QuietHours.parse(defaults.quiet_hours_start, defaults.quiet_hours_end)


def plan_for(
    kb: KnowledgeBase, clinic: Clinic, row: TreatmentSession, now: datetime
) -> SchedulePlan:
    """The plan for ``row`` at ``now`` (pure apart from reading the loaded rows)."""
    lung = near_lung(kb, muscles=[m.muscle for m in row.muscles])
    return plan_check_ins(
        row.performed_at,
        lung,
        _zone(clinic),
        _quiet(clinic, kb),
        clinic_aftercare(clinic.aftercare),
        kb.data.aftercare_schedule,
        now,
    )


def _link(
    tx: Session, actor: Actor, patient: Patient, row: TreatmentSession, expires: datetime
) -> PatientLink:
    link = PatientLink(
        patient_id=patient.id,
        purpose="check-in",
        session_id=row.id,
        created_by=actor.ref,
        expires_at=expires,
    )
    tx.add(link)
    tx.flush()
    audit.record(tx, actor, "create", "patient-link", link.id, patient.id)
    return link


def _write(
    tx: Session,
    kb: KnowledgeBase,
    actor: Actor,
    patient: Patient,
    row: TreatmentSession,
    plan: SchedulePlan,
    link: PatientLink | None,
    suffix: str,
) -> ScheduleOut:
    out = ScheduleOut(
        status="scheduled" if plan.messages else "nothing-due",
        near_lung=plan.near_lung.near,
        near_lung_reasons=list(plan.near_lung.reasons),
        skipped=[SkippedOut(rule=s.rule, reason=s.reason) for s in plan.skipped],
    )
    if not plan.messages:
        return out
    last = plan.last
    assert last is not None
    expires = last + timedelta(hours=kb.data.aftercare_schedule.defaults.link_margin_hours)
    if link is None:
        link = _link(tx, actor, patient, row, expires)
    elif link.expires_at < expires:
        link.expires_at = expires
    channel: Literal["email", "outbox"] = "email" if patient.email else "outbox"
    language = patient.preferred_language if patient.preferred_language in ("en", "es") else "en"
    # two multi-row inserts (Core, as the check-in writer does): the invitations, then
    # the reminders, which need their invitation's id
    base = {
        "clinic_id": patient.clinic_id,
        "patient_id": patient.id,
        "session_id": row.id,
        "link_id": link.id,
        "channel": channel,
        "language": language,
        "state": "scheduled",
    }
    invitations = [p for p in plan.messages if p.kind == "check-in"]
    reminders = [p for p in plan.messages if p.kind == "check-in-reminder"]
    parent_ids = _insert(
        tx, [_values(base, p, f"checkin:{row.id}:{p.rule}{suffix}") for p in invitations]
    )
    parents = dict(zip((p.rule for p in invitations), parent_ids, strict=True))
    reminder_values = [
        {**_values(base, p, f"reminder:{parents[p.rule]}"), "parent_id": parents[p.rule]}
        for p in reminders
    ]
    reminder_ids = dict(zip((p.rule for p in reminders), _insert(tx, reminder_values), strict=True))
    for invitation, message_id in zip(invitations, parent_ids, strict=True):
        out.messages.append(_plan_out(message_id, invitation, channel))
        for reminder in reminders:
            if reminder.rule == invitation.rule:
                out.messages.append(_plan_out(reminder_ids[reminder.rule], reminder, channel))
    return out


# RETURNING the key rather than asking for rows in parameter order: SQLite cannot promise
# that order, so SQLAlchemy would insert one row per statement
_INSERT = insert(OutboundMessage).returning(OutboundMessage.id, OutboundMessage.idempotency_key)


def _insert(tx: Session, values: list[dict[str, Any]]) -> list[int]:
    """Insert in one statement; the new ids in the order of ``values``."""
    if not values:
        return []
    ids = {key: message_id for message_id, key in tx.execute(_INSERT, values)}
    return [ids[v["idempotency_key"]] for v in values]


def _values(base: dict[str, Any], planned: PlannedMessage, key: str) -> dict[str, Any]:
    return {
        **base,
        "kind": planned.kind,
        "rule": planned.rule,
        "due_at": planned.due_at,
        "idempotency_key": key,
        "params": {
            "rule": planned.rule,
            "hours_after": planned.hours_after,
            "thoracic": planned.thoracic,
        },
    }


def _plan_out(message_id: int, planned: PlannedMessage, channel: str) -> PlannedOut:
    return PlannedOut(
        id=message_id,
        kind=planned.kind,
        rule=planned.rule,
        due_at=planned.due_at,
        channel=channel,
        state="scheduled",
        thoracic=planned.thoracic,
        reasons=list(planned.reasons),
    )


def _planned_out(message: OutboundMessage, reasons: list[str] | None = None) -> PlannedOut:
    return PlannedOut(
        id=message.id,
        kind=message.kind,
        rule=message.rule or "",
        due_at=message.due_at,
        channel=message.channel,
        state=message.state,
        thoracic=bool(message.params.get("thoracic")),
        cancel_reason=message.cancel_reason,
        reasons=reasons or [],
    )


def schedule_session(
    tx: Session,
    kb: KnowledgeBase,
    actor: Actor,
    patient: Patient,
    row: TreatmentSession,
    now: datetime | None = None,
) -> ScheduleOut:
    """Write the session's link and messages in ``tx`` (the session's own transaction)."""
    if patient.check_ins_opted_out_at is not None:
        return ScheduleOut(status="opted-out")
    clinic = tx.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always belongs to a clinic
    plan = plan_for(kb, clinic, row, now or utcnow())
    return _write(tx, kb, actor, patient, row, plan, None, "")


def _session_messages(tx: Session, session_id: int) -> list[OutboundMessage]:
    return list(
        tx.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.session_id == session_id,
                OutboundMessage.kind.in_(PATIENT_KINDS),
            )
            .order_by(OutboundMessage.due_at, OutboundMessage.id)
        )
    )


def replan_session(
    tx: Session,
    kb: KnowledgeBase,
    actor: Actor,
    row: TreatmentSession,
    now: datetime | None = None,
) -> ScheduleOut:
    """The muscles changed: cancel the rules not sent yet (``session-changed``) and plan
    them again; a rule whose invitation went out already keeps its rows."""
    at = now or utcnow()
    patient = tx.get(Patient, row.patient_id)
    assert patient is not None
    if patient.check_ins_opted_out_at is not None:
        return ScheduleOut(status="opted-out")
    existing = _session_messages(tx, row.id)
    done = {m.rule for m in existing if m.kind == "check-in" and m.state in GONE}
    for message in existing:
        if message.state == "scheduled" and message.rule not in done:
            message.state = "cancelled"
            message.cancel_reason = "session-changed"
    clinic = tx.get(Clinic, patient.clinic_id)
    assert clinic is not None
    plan = plan_for(kb, clinic, row, at)
    keep = tuple(m for m in plan.messages if m.rule not in done)
    plan = SchedulePlan(plan.near_lung, keep, plan.skipped)
    link = tx.get(PatientLink, existing[0].link_id) if existing and existing[0].link_id else None
    tx.flush()
    return _write(tx, kb, actor, patient, row, plan, link, f":v{row.version}")


def session_schedule(runtime: Runtime, actor: Actor, session_id: int) -> ScheduleOut:
    """Every check-in message of a session, in time order, with its state (audited)."""
    actor.require("sessions:read")
    with runtime.db.read() as tx:
        row = tx.get(TreatmentSession, session_id)
        patient = tx.get(Patient, row.patient_id) if row is not None else None
        if row is None or patient is None or patient.clinic_id != actor.clinic_id:
            raise NotFound(f"no session {session_id}")
        messages = [_planned_out(m) for m in _session_messages(tx, session_id)]
        opted_out = patient.check_ins_opted_out_at is not None
        patient_id = patient.id
    audit.record_reads(runtime.db, actor, "session-schedule", [(session_id, patient_id)])
    status: Literal["scheduled", "opted-out", "nothing-due"] = (
        "opted-out" if opted_out else "scheduled" if messages else "nothing-due"
    )
    return ScheduleOut(status=status, messages=messages)


def check_in_answered(
    tx: Session | Connection, session_ids: Iterable[int | None], now: datetime
) -> int:
    """Check-ins for ``session_ids`` came in (in ``tx``, their own transaction): cancel
    those sessions' pending reminders whose invitation was already due (reason
    ``answered``). Later invitations and their reminders stay. Returns how many."""
    wanted = sorted({sid for sid in session_ids if sid is not None})
    if not wanted:
        return 0
    parent = aliased(OutboundMessage)
    due_parents = select(parent.id).where(
        parent.session_id.in_(wanted), parent.kind == "check-in", parent.due_at <= now
    )
    result = tx.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.session_id.in_(wanted),
            OutboundMessage.kind == "check-in-reminder",
            OutboundMessage.state == "scheduled",
            OutboundMessage.parent_id.in_(due_parents),
        )
        .values(
            state="cancelled",
            cancel_reason="answered",
            updated_at=now,
            version=OutboundMessage.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
