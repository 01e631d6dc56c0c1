"""Adverse events: what went wrong after (or during) dry needling, FHIR AdverseEvent in shape.

``event_type`` is a risk id of the knowledge base (``risk.pneumothorax`` …; ``needlewise kb
show risk`` lists them), so events can be counted against the incidence figures the consent
text quotes. ``serious`` follows the regulatory meaning (death, life-threatening, hospital
stay, lasting harm); ``severity`` is how intense it was. Checks: ``resolved_at`` is not
before ``onset_at``, neither is in the future, a ``fatal`` outcome is serious, a resolved
date goes with a resolved outcome, and a linked session belongs to the same patient.

Recording and changing need ``adverse-events:write`` (clinicians); every read and write is
audited; updates need ``If-Match``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from needlewise.errors import InputError, NotFound
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Risk
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AdverseEvent, Patient, TreatmentSession
from needlewise.services import audit, idempotency
from needlewise.services.actor import Actor
from needlewise.services.idempotency import Once, Resource
from needlewise.services.paging import Page, PageParams
from needlewise.services.patients import get_in_clinic
from needlewise.services.records import MAX_ID, check_version, edit
from needlewise.services.runtime import Runtime

Severity = Literal["mild", "moderate", "severe"]
Outcome = Literal[
    "resolved", "resolving", "not-resolved", "resolved-with-sequelae", "fatal", "unknown"
]
RESOLVED_OUTCOMES = frozenset({"resolved", "resolved-with-sequelae", "fatal"})
CLOCK_SKEW = timedelta(minutes=5)


class AdverseEventIn(BaseModel):
    """An adverse event to record."""

    model_config = ConfigDict(extra="forbid")
    session_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The session it followed, if any"
    )
    event_type: str = Field(max_length=60, examples=["risk.pneumothorax"])
    severity: Severity
    serious: bool = Field(description="Death, life-threatening, hospital stay or lasting harm")
    outcome: Outcome
    onset_at: AwareDatetime
    resolved_at: AwareDatetime | None = None
    description: str | None = Field(default=None, max_length=10_000)


class AdverseEventPatch(BaseModel):
    """Fields to change (send If-Match)."""

    model_config = ConfigDict(extra="forbid")
    session_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    event_type: str | None = Field(default=None, max_length=60)
    severity: Severity | None = None
    serious: bool | None = None
    outcome: Outcome | None = None
    onset_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    description: str | None = Field(default=None, max_length=10_000)


class AdverseEventOut(BaseModel):
    id: int
    patient_id: int
    session_id: int | None
    event_type: str
    event_title: str = Field(description="The risk's English title")
    severity: Severity
    serious: bool
    outcome: Outcome
    onset_at: datetime
    resolved_at: datetime | None
    description: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


def _risk(kb: KnowledgeBase, event_type: str) -> Risk | None:
    item = kb.get(event_type)
    return item if isinstance(item, Risk) else None


def _out(kb: KnowledgeBase, row: AdverseEvent) -> AdverseEventOut:
    risk = _risk(kb, row.event_type)
    return AdverseEventOut(
        id=row.id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        event_type=row.event_type,
        event_title=risk.title.en if risk is not None else row.event_type,
        severity=row.severity,
        serious=row.serious,
        outcome=row.outcome,
        onset_at=row.onset_at,
        resolved_at=row.resolved_at,
        description=row.description,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _check_type(kb: KnowledgeBase, event_type: str) -> None:
    if _risk(kb, event_type) is None:
        raise InputError(
            f"unknown event type {event_type!r}: use a risk id, e.g. risk.pneumothorax "
            "(`needlewise kb show risk` lists them)",
            "$.event_type",
        )


def _check_session(tx: Session, patient_id: int, session_id: int | None) -> None:
    if session_id is None:
        return
    treatment = tx.get(TreatmentSession, session_id)
    if treatment is None or treatment.patient_id != patient_id:
        raise InputError(f"no session {session_id} for this patient", "$.session_id")


def _check_consistent(row: AdverseEvent) -> None:
    """Checks over the whole (new or changed) record; ``where`` names the field to fix."""
    now = utcnow() + CLOCK_SKEW
    if row.onset_at > now:
        raise InputError("cannot be in the future", "$.onset_at")
    if row.resolved_at is not None:
        if row.resolved_at > now:
            raise InputError("cannot be in the future", "$.resolved_at")
        if row.resolved_at < row.onset_at:
            raise InputError("cannot be before onset_at", "$.resolved_at")
        if row.outcome not in RESOLVED_OUTCOMES:
            raise InputError(
                f"an event with outcome {row.outcome!r} has no resolution date", "$.resolved_at"
            )
    if row.outcome == "fatal" and not row.serious:
        raise InputError("an event with a fatal outcome is serious", "$.serious")


def create_adverse_event(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    data: AdverseEventIn,
    once: Once[AdverseEventOut] | None = None,
) -> AdverseEventOut:
    """Record an adverse event (audited). With ``once`` (an ``Idempotency-Key``), the
    answer is kept in the same transaction."""
    actor.require("adverse-events:write")
    _check_type(runtime.kb, data.event_type)
    with runtime.db.write() as tx:
        patient = get_in_clinic(tx, actor, patient_id)
        _check_session(tx, patient.id, data.session_id)
        row = AdverseEvent(
            patient_id=patient.id,
            session_id=data.session_id,
            event_type=data.event_type,
            severity=data.severity,
            serious=data.serious,
            outcome=data.outcome,
            onset_at=data.onset_at.astimezone(UTC),
            resolved_at=data.resolved_at.astimezone(UTC) if data.resolved_at else None,
            description=data.description,
            created_by=actor.ref,
        )
        _check_consistent(row)
        tx.add(row)
        tx.flush()
        audit.record(tx, actor, "create", "adverse-event", row.id, patient.id)
        out = _out(runtime.kb, row)
        resource = Resource("adverse-event", row.id, patient.id)
        idempotency.keep(tx.connection(), once, out, resource)
        return out


def _get(tx: Session, actor: Actor, event_id: int) -> AdverseEvent:
    row = tx.scalars(
        select(AdverseEvent)
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .where(AdverseEvent.id == event_id, Patient.clinic_id == actor.clinic_id)
    ).first()
    if row is None:
        raise NotFound(f"no adverse event {event_id}")
    return row


def get_adverse_event(runtime: Runtime, actor: Actor, event_id: int) -> AdverseEventOut:
    actor.require("adverse-events:read")
    with runtime.db.read() as tx:
        out = _out(runtime.kb, _get(tx, actor, event_id))
    audit.record_reads(runtime.db, actor, "adverse-event", [(out.id, out.patient_id)])
    return out


def list_adverse_events(
    runtime: Runtime,
    actor: Actor,
    page: PageParams,
    *,
    patient_id: int | None = None,
    serious: bool | None = None,
    since: datetime | None = None,
) -> Page[AdverseEventOut]:
    """Adverse events of the clinic, newest onset first (``since``: onset at or after;
    a time without a zone is UTC). Each one returned is audited."""
    actor.require("adverse-events:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(AdverseEvent.patient_id == patient_id)
    if serious is not None:
        conditions.append(AdverseEvent.serious == serious)
    if since is not None:
        aware = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        conditions.append(AdverseEvent.onset_at >= aware)
    joined = select(AdverseEvent).join(Patient, Patient.id == AdverseEvent.patient_id)
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(joined.where(*conditions).subquery()))
        rows = tx.scalars(
            joined.where(*conditions)
            .order_by(AdverseEvent.onset_at.desc(), AdverseEvent.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_out(runtime.kb, row) for row in rows]
    audit.record_reads(runtime.db, actor, "adverse-event", [(e.id, e.patient_id) for e in items])
    return Page[AdverseEventOut](
        items=items, total=total or 0, limit=page.limit, offset=page.offset
    )


REQUIRED = ("event_type", "severity", "serious", "outcome", "onset_at")


def update_adverse_event(
    runtime: Runtime, actor: Actor, event_id: int, expected_version: int, data: AdverseEventPatch
) -> AdverseEventOut:
    actor.require("adverse-events:write")
    changes = data.model_dump(exclude_unset=True)
    for key in REQUIRED:
        if key in changes and changes[key] is None:
            raise InputError("cannot be null", f"$.{key}")
    if data.event_type is not None:
        _check_type(runtime.kb, data.event_type)
    with edit(runtime.db, "adverse event") as tx:
        row = _get(tx, actor, event_id)
        check_version("adverse event", row.version, expected_version)
        if "session_id" in changes:
            _check_session(tx, row.patient_id, data.session_id)
        for key, value in changes.items():
            if isinstance(value, datetime):
                value = value.astimezone(UTC)
            setattr(row, key, value)
        _check_consistent(row)
        tx.flush()
        audit.record(tx, actor, "update", "adverse-event", row.id, row.patient_id)
        return _out(runtime.kb, row)
