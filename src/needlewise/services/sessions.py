"""Treatment sessions: what was needled, by whom, against which screening and consent.

Recording a session (clinicians only) applies the rules of
:mod:`needlewise.services.session_rules` — a screening that is not ``not-eligible`` (or a
clinician's override with a reason), a signed consent still in force, and a provider whose
state scope is not ``not-permitted``. The CPT line is derived from the muscles by
:func:`needlewise.domain.coding.code_session` and can never be sent by the client; the full
coding result (checks, coverage notes, documentation list, knowledge stamp) is stored with
the session and re-derived whenever the muscles or the payer change.

Every read and write is audited; an override adds its own ``override`` audit entry.
Updates need the ``If-Match`` version, so concurrent edits are never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from needlewise.domain.coding import CodingResult, code_session
from needlewise.domain.facts import Laterality, NeedledMuscle, SessionRecord
from needlewise.errors import InputError, NotFound, RuleViolation
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import Patient, SessionMuscle, TreatmentSession
from needlewise.services import audit, idempotency
from needlewise.services.actor import Actor
from needlewise.services.aftercare_schedule import ScheduleOut, replan_session, schedule_session
from needlewise.services.coding import muscle_id
from needlewise.services.fields import Label
from needlewise.services.idempotency import Once, Resource
from needlewise.services.paging import Page, PageParams
from needlewise.services.patients import get_in_clinic
from needlewise.services.records import MAX_ID, check_version, edit
from needlewise.services.runtime import Runtime
from needlewise.services.session_rules import check_session

Payer = Literal["medicare", "commercial", "workers-comp", "military"]
CLOCK_SKEW = timedelta(minutes=5)


class SessionMuscleIn(BaseModel):
    """One needled muscle with its side and needle details."""

    model_config = ConfigDict(extra="forbid")
    muscle: str = Field(
        min_length=1, max_length=60, description="Muscle id, e.g. muscle.upper-trapezius"
    )
    laterality: Laterality
    needle_count: int = Field(ge=1, le=100, description="Needles inserted in this muscle")
    gauge: str | None = Field(default=None, min_length=1, max_length=20, examples=["0.25 mm"])
    length_mm: float | None = Field(default=None, gt=0, le=200)


class OverrideIn(BaseModel):
    """A clinician's override of a not-eligible screening (stored and audited)."""

    model_config = ConfigDict(extra="forbid")
    reason: Label = Field(min_length=1, max_length=2000, description="Why (one line)")


class SessionIn(BaseModel):
    """A session to record. The CPT line is derived from ``muscles``; never send one."""

    model_config = ConfigDict(extra="forbid")
    provider_id: int = Field(
        ge=1, le=MAX_ID, description="The needling provider (active, of this clinic)"
    )
    performed_at: AwareDatetime = Field(description="When it was done, with a time zone")
    screening_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The screening relied on (default: the patient's latest)",
    )
    muscles: list[SessionMuscleIn] = Field(min_length=1, max_length=50)
    technique: str | None = Field(default=None, max_length=200)
    electrical_stimulation: bool
    retention_seconds: int | None = Field(
        default=None, ge=0, le=3600, description="How long the needles stayed in"
    )
    response: str | None = Field(default=None, max_length=2000, examples=["local twitch response"])
    in_session_events: str | None = Field(
        default=None, max_length=5000, description="Adverse events during the session"
    )
    notes: str | None = Field(default=None, max_length=10_000)
    pain_before: int | None = Field(
        default=None, ge=0, le=10, description="NPRS before needling (0 no pain, 10 worst)"
    )
    pain_after: int | None = Field(
        default=None, ge=0, le=10, description="NPRS after needling (0 no pain, 10 worst)"
    )
    payer: Payer | None = Field(default=None, description="Selects the coverage notes")
    override: OverrideIn | None = Field(
        default=None, description="Only for a not-eligible screening, by a clinician"
    )


class SessionPatch(BaseModel):
    """Fields to change. Sending ``muscles`` replaces the whole list and re-derives the CPT
    line (so does ``payer``). Provider, time, screening and stimulation cannot change."""

    model_config = ConfigDict(extra="forbid")
    technique: str | None = Field(default=None, max_length=200)
    retention_seconds: int | None = Field(default=None, ge=0, le=3600)
    response: str | None = Field(default=None, max_length=2000)
    in_session_events: str | None = Field(default=None, max_length=5000)
    notes: str | None = Field(default=None, max_length=10_000)
    muscles: list[SessionMuscleIn] | None = Field(default=None, min_length=1, max_length=50)
    payer: Payer | None = None


class SessionMuscleOut(BaseModel):
    muscle: str
    laterality: str
    needle_count: int
    gauge: str | None
    length_mm: float | None


class StampOut(BaseModel):
    version: str
    sha256: str


class SessionOut(BaseModel):
    id: int
    patient_id: int
    provider_id: int
    screening_id: int
    consent_id: int
    performed_at: datetime
    muscles: list[SessionMuscleOut]
    technique: str | None
    electrical_stimulation: bool
    retention_seconds: int | None
    response: str | None
    in_session_events: str | None
    notes: str | None
    pain_before: int | None = Field(description="NPRS before needling (0-10; null: not asked)")
    pain_after: int | None = Field(description="NPRS after needling (0-10; null: not asked)")
    payer: str | None
    cpt_code: str = Field(description="Derived from the muscles: 20560 (1-2) or 20561 (3+)")
    cpt_units: int
    muscle_count: int = Field(description="Distinct muscles (a bilateral muscle counts once)")
    needs_review: bool = Field(description="The coding checks ask for review before billing")
    coding: dict[str, Any] = Field(description="The full coding result (as /api/code-session)")
    scope_status: Literal["allowed", "silent", "unknown"] = Field(
        description="The provider's state scope when recorded (not-permitted is refused)"
    )
    override_reason: str | None
    override_by: int | None = Field(description="User id of the overriding clinician")
    knowledge: StampOut
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    check_in_schedule: ScheduleOut | None = Field(
        default=None,
        description=(
            "The check-in messages planned when the session was recorded or its muscles"
            " changed (only in that answer; GET /api/sessions/{id}/check-in-schedule lists"
            " them at any time)"
        ),
    )


def _wake(runtime: Runtime, schedule: ScheduleOut | None) -> None:
    """After the commit: tell the worker when the first new message is due."""
    due = [m.due_at for m in schedule.messages] if schedule is not None else []
    if due:
        runtime.jobs.wake(min(due))


def _out(row: TreatmentSession) -> SessionOut:
    return SessionOut(
        id=row.id,
        patient_id=row.patient_id,
        provider_id=row.provider_id,
        screening_id=row.screening_id,
        consent_id=row.consent_id,
        performed_at=row.performed_at,
        muscles=[
            SessionMuscleOut(
                muscle=m.muscle,
                laterality=m.laterality,
                needle_count=m.needle_count,
                gauge=m.gauge,
                length_mm=m.length_mm,
            )
            for m in row.muscles
        ],
        technique=row.technique,
        electrical_stimulation=row.electrical_stimulation,
        retention_seconds=row.retention_seconds,
        response=row.response,
        in_session_events=row.in_session_events,
        notes=row.notes,
        pain_before=row.pain_before,
        pain_after=row.pain_after,
        payer=row.coding.get("payer"),
        cpt_code=row.cpt_code,
        cpt_units=row.cpt_units,
        muscle_count=row.muscle_count,
        needs_review=row.needs_review,
        coding=row.coding,
        scope_status=row.scope_status,
        override_reason=row.override_reason,
        override_by=row.override_by,
        knowledge=StampOut(version=row.knowledge_version, sha256=row.knowledge_sha256),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _needled(kb: KnowledgeBase, muscles: Sequence[SessionMuscleIn]) -> list[SessionMuscle]:
    """Rows for the muscles, ids checked against the knowledge base (``InputError``)."""
    rows: list[SessionMuscle] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(muscles):
        found = muscle_id(item.muscle, kb, f"$.muscles[{i}].muscle")
        if (found, item.laterality) in seen:
            raise InputError(f"{found} ({item.laterality}) is listed twice", f"$.muscles[{i}]")
        seen.add((found, item.laterality))
        rows.append(
            SessionMuscle(
                position=i,
                muscle=found,
                laterality=item.laterality,
                needle_count=item.needle_count,
                gauge=item.gauge,
                length_mm=item.length_mm,
            )
        )
    return rows


def _apply_coding(
    row: TreatmentSession, kb: KnowledgeBase, muscles: list[SessionMuscle], payer: str | None
) -> None:
    """Derive the CPT line from ``muscles`` and store it, with the knowledge used."""
    record = SessionRecord(
        muscles=tuple(NeedledMuscle(m.muscle, m.laterality) for m in muscles),  # type: ignore[arg-type]
        payer=payer,  # type: ignore[arg-type]
    )
    result: CodingResult = code_session(record, kb)
    line = result.lines[0]
    row.cpt_code = line.code
    row.cpt_units = line.units
    row.muscle_count = line.muscle_count
    row.needs_review = result.needs_review
    row.coding = {**result.to_json(), "payer": payer}
    row.knowledge_version = kb.version
    row.knowledge_sha256 = kb.sha256


def _not_future(value: datetime, where: str) -> None:
    if value > utcnow() + CLOCK_SKEW:
        raise InputError("cannot be in the future", where)


def create_session(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    data: SessionIn,
    once: Once[SessionOut] | None = None,
) -> SessionOut:
    """Record a session after checking every rule (422 ``rule-violation`` otherwise; the
    refused attempt is audited with outcome ``refused``). With ``once`` (an
    ``Idempotency-Key``), the answer is kept in the same transaction."""
    actor.require("sessions:write")
    _not_future(data.performed_at, "$.performed_at")
    muscles = _needled(runtime.kb, data.muscles)
    override = data.override.reason if data.override is not None else None
    try:
        with runtime.db.write() as tx:
            patient = get_in_clinic(tx, actor, patient_id)
            checked = check_session(
                runtime,
                tx,
                actor,
                patient.id,
                provider_id=data.provider_id,
                screening_id=data.screening_id,
                electrical_stimulation=data.electrical_stimulation,
                override_reason=override,
            )
            row = TreatmentSession(
                patient_id=patient.id,
                provider_id=checked.provider.id,
                screening_id=checked.screening.id,
                consent_id=checked.consent.id,
                performed_at=data.performed_at.astimezone(UTC),
                technique=data.technique,
                electrical_stimulation=data.electrical_stimulation,
                retention_seconds=data.retention_seconds,
                response=data.response,
                in_session_events=data.in_session_events,
                notes=data.notes,
                pain_before=data.pain_before,
                pain_after=data.pain_after,
                scope_status=checked.scope.status,
                override_reason=override,
                override_by=actor.user_id if override is not None else None,
                created_by=actor.ref,
            )
            _apply_coding(row, runtime.kb, muscles, data.payer)
            row.muscles = muscles
            tx.add(row)
            tx.flush()
            audit.record(tx, actor, "create", "session", row.id, patient.id)
            if override is not None:
                audit.record(tx, actor, "override", "session", row.id, patient.id)
            schedule = schedule_session(tx, runtime.kb, actor, patient, row)
            out = _out(row).model_copy(update={"check_in_schedule": schedule})
            resource = Resource("session", row.id, patient.id)
            idempotency.keep(tx.connection(), once, out, resource)
        _wake(runtime, schedule)
        return out
    except RuleViolation:
        # Who tried to record a session for whom, and when, is worth keeping even though
        # nothing was recorded: the caller hears the rule and its sources.
        with runtime.db.write() as tx:
            audit.record(tx, actor, "create", "session", None, patient_id, outcome="refused")
        raise


def _get(tx: Session, actor: Actor, session_id: int) -> TreatmentSession:
    row = tx.scalars(
        select(TreatmentSession)
        .join(Patient, Patient.id == TreatmentSession.patient_id)
        .where(TreatmentSession.id == session_id, Patient.clinic_id == actor.clinic_id)
        .options(selectinload(TreatmentSession.muscles))
    ).first()
    if row is None:
        raise NotFound(f"no session {session_id}")
    return row


def get_session(runtime: Runtime, actor: Actor, session_id: int) -> SessionOut:
    """One session with its muscles (audited)."""
    actor.require("sessions:read")
    with runtime.db.read() as tx:
        out = _out(_get(tx, actor, session_id))
    audit.record_reads(runtime.db, actor, "session", [(out.id, out.patient_id)])
    return out


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def list_sessions(
    runtime: Runtime,
    actor: Actor,
    page: PageParams,
    *,
    patient_id: int | None = None,
    provider_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[SessionOut]:
    """Sessions of the clinic, newest first by ``performed_at`` (``since`` inclusive,
    ``until`` exclusive; times without a zone are UTC). Each one returned is audited."""
    actor.require("sessions:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(TreatmentSession.patient_id == patient_id)
    if provider_id is not None:
        conditions.append(TreatmentSession.provider_id == provider_id)
    if since is not None:
        conditions.append(TreatmentSession.performed_at >= _utc(since))
    if until is not None:
        conditions.append(TreatmentSession.performed_at < _utc(until))
    joined = select(TreatmentSession).join(Patient, Patient.id == TreatmentSession.patient_id)
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(joined.where(*conditions).subquery()))
        rows = tx.scalars(
            joined.where(*conditions)
            .options(selectinload(TreatmentSession.muscles))
            .order_by(TreatmentSession.performed_at.desc(), TreatmentSession.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_out(row) for row in rows]
    audit.record_reads(runtime.db, actor, "session", [(s.id, s.patient_id) for s in items])
    return Page[SessionOut](items=items, total=total or 0, limit=page.limit, offset=page.offset)


def update_session(
    runtime: Runtime, actor: Actor, session_id: int, expected_version: int, data: SessionPatch
) -> SessionOut:
    """Change a session's notes or muscles; new muscles (or payer) re-derive the CPT line."""
    actor.require("sessions:write")
    changes = data.model_dump(exclude_unset=True)
    if "muscles" in changes and data.muscles is None:
        raise InputError("a session needs at least one muscle; send the whole list", "$.muscles")
    muscles = _needled(runtime.kb, data.muscles) if data.muscles is not None else None
    with edit(runtime.db, "session") as tx:
        row = _get(tx, actor, session_id)
        check_version("session", row.version, expected_version)
        for key in ("technique", "retention_seconds", "response", "in_session_events", "notes"):
            if key in changes:
                setattr(row, key, changes[key])
        if muscles is not None or "payer" in changes:
            payer = changes["payer"] if "payer" in changes else row.coding.get("payer")
            _apply_coding(row, runtime.kb, muscles or list(row.muscles), payer)
            if muscles is not None:
                row.muscles = muscles
        row.updated_at = utcnow()  # bumps the version even when only muscle rows changed
        tx.flush()
        audit.record(tx, actor, "update", "session", row.id, row.patient_id)
        schedule = replan_session(tx, runtime.kb, actor, row) if muscles is not None else None
        out = _out(row).model_copy(update={"check_in_schedule": schedule})
    _wake(runtime, schedule)
    return out
