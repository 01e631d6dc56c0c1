"""After-treatment check-ins: the patient's answers, the triage result, and who
acknowledged it.

A check-in comes from the patient through a ``check-in`` link (multi-use until it
expires) or from staff, e.g. taking a phone call. Either way :func:`record_check_in`
triages the answers (:func:`needlewise.services.triage.triage_document`: the triage JSON or
an aftercare QuestionnaireResponse) and stores them with the result, the disposition and
the knowledge version and hash, in one transaction with its audit entry. Check-ins
are group-committed (:mod:`needlewise.persistence.group_commit`): under load many share
one transaction, and each caller hears back only after its commit.

**Hours since treatment.** When the check-in follows a known session (``session_id``, or
the session of the link) and the answers do not say how long ago the treatment was, the
hours since the session's ``performed_at`` are filled in before triage (triage JSON:
``hours_since_treatment``; QuestionnaireResponse: the ``time-since-treatment`` item). The
stored ``answers`` are what was sent; the ``result`` says what was used:
``hours_since_treatment`` (exact hours, or ``null`` when only a window or nothing is known)
and ``hours_source`` (``report``, ``session`` or ``null``). Unknown time never lowers the tier.

**Patient conditions.** Triage weighs what the clinic knows of the patient: the findings
of the patient's latest screening (e.g. a joint replacement, a weak immune system) are
its ``conditions`` (:func:`needlewise.services.triage.conditions_from_screening`), so a
fever in a patient on cancer treatment is an emergency. A patient with no screening has
an unknown health history, and the advice says what to do if one of those conditions
applies. The result's ``conditions`` field shows what was used.

**Language.** Through a patient link, answers that name no language are triaged in the
patient's preferred language, so the advice comes back in it. Staff get English unless the
answers say otherwise.

Clinicians acknowledge a check-in (``check-ins:acknowledge``) once; a second time is 409.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from needlewise.errors import Conflict, InputError, NotFound, ServiceError
from needlewise.interop.fhir.canonical import TIME_ITEM
from needlewise.interop.fhir.intake import walk_items
from needlewise.knowledge.schema import Tier
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import CheckIn, Clinic, Patient, Screening, TreatmentSession
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.pages import Page, PageParams
from needlewise.services.patients import ensure_visible
from needlewise.services.records import check_version
from needlewise.services.runtime import Runtime
from needlewise.services.triage import conditions_from_screening, triage_document

Disposition = Literal["emergency", "call-provider", "self-care"]
MAX_HOURS = 24 * 365  # what the triage JSON accepts


class CheckInOut(BaseModel):
    """A stored check-in as staff see it."""

    id: int
    patient_id: int
    session_id: int | None
    disposition: Disposition
    result: dict[str, Any] = Field(
        description="The triage result (as /api/triage) plus hours_since_treatment and hours_source"
    )
    answers: dict[str, Any] = Field(description="What was sent, unchanged")
    created_by: str = Field(description="user:ID (staff) or link:ID (the patient)")
    created_at: datetime
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    version: int


class PatientReasonOut(BaseModel):
    rule: str
    tier: Disposition
    title: str
    matched: str


class PatientCheckInOut(BaseModel):
    """What the patient is told after a check-in, in their language."""

    id: int
    disposition: Disposition
    title: str = Field(description="What to do, in a few words (e.g. 'Call 911 now')")
    call_911: bool = Field(description="True when the patient must call 911 now")
    advice: str = Field(description="What to do, including when to call 911")
    reasons: list[PatientReasonOut]
    language: Literal["en", "es"]
    clinic_phones: list[str] = Field(description="The clinic's phone numbers")


def _out(row: CheckIn) -> CheckInOut:
    return CheckInOut(
        id=row.id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        disposition=row.disposition,
        result=row.result,
        answers=row.answers,
        created_by=row.created_by,
        created_at=row.created_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        version=row.version,
    )


def _hours_since(performed_at: datetime | None) -> float | None:
    if performed_at is None:
        return None
    hours = round((utcnow() - performed_at).total_seconds() / 3600, 1)
    return hours if 0 <= hours <= MAX_HOURS else None


def _prepare(
    document: Any, performed_at: datetime | None, language: str | None
) -> tuple[Any, float | None, str | None]:
    """(document to triage, exact hours used, where they came from); never changes
    ``document`` itself."""
    if not isinstance(document, dict):
        return document, None, None  # triage_document explains what is wrong
    if "resourceType" in document:
        return _prepare_response(document, performed_at, language)
    given = document.get("hours_since_treatment")
    filled: dict[str, Any] = dict(document)
    if language is not None and "language" not in document:
        filled["language"] = language
    if given is not None:
        return filled, given if isinstance(given, float | int) else None, "report"
    hours = _hours_since(performed_at)
    if hours is None:
        return filled, None, None
    filled["hours_since_treatment"] = float(hours)
    return filled, hours, "session"


def _prepare_response(
    document: dict[str, Any], performed_at: datetime | None, language: str | None
) -> tuple[Any, float | None, str | None]:
    if document.get("resourceType") != "QuestionnaireResponse":
        return document, None, None
    filled = copy.deepcopy(document)
    if language is not None and "language" not in filled:
        filled["language"] = language
    time_items = [item for item, _ in walk_items(filled, "$") if item.get("linkId") == TIME_ITEM]
    answered = [item for item in time_items if item.get("answer")]
    if answered:
        answers = answered[0]["answer"]
        first = answers[0] if isinstance(answers, list) and isinstance(answers[0], dict) else {}
        exact = first.get("valueDecimal", first.get("valueInteger"))
        return filled, exact if isinstance(exact, float | int) else None, "report"
    hours = _hours_since(performed_at)
    if hours is None:
        return filled, None, None
    answer = [{"valueDecimal": hours}]
    if time_items:
        time_items[0]["answer"] = answer
    else:
        filled.setdefault("item", []).append({"linkId": TIME_ITEM, "answer": answer})
    return filled, hours, "session"


def _authorize(actor: Actor, patient_id: int) -> None:
    if actor.link_id is not None:
        if actor.link_purpose != "check-in" or actor.patient_id != patient_id:
            raise NotFound(f"no patient {patient_id}")
    else:
        actor.require("check-ins:write")


def record_check_in(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    document: Any,
    session_id: int | None = None,
) -> CheckInOut:
    """Triage ``document`` and store it as a check-in of ``patient_id`` (audited).

    ``actor`` is staff with ``check-ins:write`` or the patient's own check-in link.
    ``session_id`` (the session the check-in follows) must be this patient's; an
    ``InputError`` names ``session_id`` otherwise. Returns once the check-in is committed.
    """
    _authorize(actor, patient_id)
    asked = _Asked(runtime, actor, patient_id, document, session_id)
    return runtime.db.group.run(asked, _write_check_ins)


async def record_check_in_async(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    document: Any,
    session_id: int | None = None,
) -> CheckInOut:
    """:func:`record_check_in` for the API: awaits the commit without a worker thread."""
    _authorize(actor, patient_id)
    asked = _Asked(runtime, actor, patient_id, document, session_id)
    return await runtime.db.group.run_async(asked, _write_check_ins)


Refusal = ServiceError | InputError  # returned in place of a check-in that was not stored
_INSERT = insert(CheckIn).returning(CheckIn.id, sort_by_parameter_order=True)
_PATIENTS = select(Patient.id, Patient.clinic_id, Patient.preferred_language).where(
    Patient.id.in_(bindparam("ids", expanding=True))
)
_SESSIONS = select(
    TreatmentSession.id, TreatmentSession.patient_id, TreatmentSession.performed_at
).where(TreatmentSession.id.in_(bindparam("ids", expanding=True)))
_LATER = aliased(Screening)
#: each patient's latest screening (the one the session rules use too)
_LATEST_SCREENINGS = select(Screening.id, Screening.patient_id, Screening.result).where(
    Screening.patient_id.in_(bindparam("ids", expanding=True)),
    Screening.id
    == select(_LATER.id)
    .where(_LATER.patient_id == Screening.patient_id)
    .order_by(_LATER.created_at.desc(), _LATER.id.desc())
    .limit(1)
    .correlate(Screening)
    .scalar_subquery(),
)


@dataclass(frozen=True)
class _Asked:
    """One check-in waiting for its group commit."""

    runtime: Runtime
    actor: Actor
    patient_id: int
    document: Any
    session_id: int | None


def _write_check_ins(connection: Connection, asked: list[_Asked]) -> list[CheckInOut | Refusal]:
    """Check, triage and insert the check-ins of one group commit
    (:class:`~needlewise.persistence.group_commit.GroupCommit`), with their audit
    entries: two lookups and two inserts for the whole batch, whatever its size. The
    checks, the hours since the session and triage run in the same transaction as the
    inserts; rows go in with SQLAlchemy Core, not the ORM unit of work (check-ins are
    the busiest write: a burst after a clinic day).

    A check-in whose patient is not the caller's to see, or whose session is not that
    patient's, or whose answers cannot be triaged, is refused (its error is returned in
    its place) and nothing is written for it.
    """
    patient_ids = sorted({a.patient_id for a in asked})
    patients = {row.id: row for row in connection.execute(_PATIENTS, {"ids": patient_ids})}
    screenings = {
        row.patient_id: row for row in connection.execute(_LATEST_SCREENINGS, {"ids": patient_ids})
    }
    session_ids = sorted({a.session_id for a in asked if a.session_id is not None})
    sessions = (
        {row.id: row for row in connection.execute(_SESSIONS, {"ids": session_ids})}
        if session_ids
        else {}
    )
    refused: dict[int, Refusal] = {}
    pending: list[tuple[int, dict[str, Any]]] = []
    for index, one in enumerate(asked):
        try:
            screening = screenings.get(one.patient_id)
            pending.append((index, _row(one, patients.get(one.patient_id), sessions, screening)))
        except (ServiceError, InputError) as exc:
            refused[index] = exc
    stored: dict[int, CheckInOut] = {}
    if pending:
        ids = connection.execute(_INSERT, [row["check_in"] for _, row in pending]).scalars().all()
        numbered = list(zip(pending, ids, strict=True))
        audit.insert_many(
            connection,
            [{**row["audit"], "resource_id": str(new_id)} for (_, row), new_id in numbered],
        )
        stored = {
            index: CheckInOut.model_validate({**row["check_in"], "id": new_id})
            for (index, row), new_id in numbered
        }
    return [stored[i] if i in stored else refused[i] for i in range(len(asked))]


def _row(
    asked: _Asked, patient: Any, sessions: dict[int, Any], screening: Any = None
) -> dict[str, Any]:
    """The check-in and audit rows of one check-in (raises a :data:`Refusal` to refuse)."""
    actor, patient_id, session_id = asked.actor, asked.patient_id, asked.session_id
    ensure_visible(actor, patient_id, None if patient is None else patient.clinic_id)
    performed_at = None
    if session_id is not None:
        treatment = sessions.get(session_id)
        if treatment is None or treatment.patient_id != patient_id:
            raise InputError(f"no session {session_id} for this patient", "session_id")
        performed_at = treatment.performed_at
    language = patient.preferred_language if actor.link_id is not None else None
    to_triage, hours, source = _prepare(asked.document, performed_at, language)
    kb = asked.runtime.kb
    conditions = (
        conditions_from_screening(screening.id, screening.result) if screening is not None else None
    )
    result = triage_document(to_triage, kb, conditions)
    check_in = {
        "patient_id": patient_id,
        "session_id": session_id,
        "answers": asked.document,
        "result": {**result.to_json(), "hours_since_treatment": hours, "hours_source": source},
        "disposition": result.disposition.value,
        "knowledge_version": kb.stamp.version,
        "knowledge_sha256": kb.stamp.sha256,
        "created_by": actor.ref,
        "created_at": utcnow(),
        "acknowledged_by": None,
        "acknowledged_at": None,
        "version": 1,
    }
    return {
        "check_in": check_in,
        "audit": audit.entry(actor, "create", "check-in", None, patient_id),
    }


def for_patient(runtime: Runtime, check_in: CheckInOut) -> PatientCheckInOut:
    """What the patient who sent ``check_in`` is told (disposition, advice, reasons)."""
    result = check_in.result
    language = result["language"]
    tier = Tier(check_in.disposition)
    with runtime.db.read() as session:
        phones = session.scalar(
            select(Clinic.phones)
            .join(Patient, Patient.clinic_id == Clinic.id)
            .where(Patient.id == check_in.patient_id)
        )
    return PatientCheckInOut(
        id=check_in.id,
        disposition=check_in.disposition,
        title=runtime.kb.disposition(tier).title.get(language),
        call_911=tier is Tier.emergency,
        advice=result["advice"],
        reasons=[PatientReasonOut.model_validate(r) for r in result["reasons"]],
        language=language,
        clinic_phones=list(phones or []),
    )


def _get(session: Session, actor: Actor, check_in_id: int) -> CheckIn:
    row = session.scalars(
        select(CheckIn)
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(CheckIn.id == check_in_id, Patient.clinic_id == actor.clinic_id)
    ).first()
    if row is None:
        raise NotFound(f"no check-in {check_in_id}")
    return row


def get_check_in(runtime: Runtime, actor: Actor, check_in_id: int) -> CheckInOut:
    actor.require("check-ins:read")
    with runtime.db.read() as session:
        out = _out(_get(session, actor, check_in_id))
    audit.record_reads(runtime.db, actor, "check-in", [(out.id, out.patient_id)])
    return out


def list_check_ins(
    runtime: Runtime,
    actor: Actor,
    page: PageParams,
    *,
    patient_id: int | None = None,
    disposition: str | None = None,
    unacknowledged: bool | None = None,
) -> Page[CheckInOut]:
    """Check-ins of the clinic, newest first; ``unacknowledged=true`` is the work queue
    (``false``: acknowledged ones only). Each one returned is audited."""
    actor.require("check-ins:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(CheckIn.patient_id == patient_id)
    if disposition is not None:
        conditions.append(CheckIn.disposition == disposition)
    if unacknowledged is not None:
        ack = CheckIn.acknowledged_at
        conditions.append(ack.is_(None) if unacknowledged else ack.is_not(None))
    joined = select(CheckIn).join(Patient, Patient.id == CheckIn.patient_id)
    with runtime.db.read() as session:
        total = session.scalar(
            select(func.count()).select_from(joined.where(*conditions).subquery())
        )
        rows = session.scalars(
            joined.where(*conditions)
            .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_out(row) for row in rows]
    audit.record_reads(runtime.db, actor, "check-in", [(c.id, c.patient_id) for c in items])
    return Page[CheckInOut](items=items, total=total or 0, limit=page.limit, offset=page.offset)


def acknowledge_check_in(
    runtime: Runtime, actor: Actor, check_in_id: int, expected_version: int
) -> CheckInOut:
    """Mark a check-in seen by a clinician (409 when it already was)."""
    actor.require("check-ins:acknowledge")
    try:
        with runtime.db.write() as session:
            row = _get(session, actor, check_in_id)
            if row.acknowledged_at is not None:
                raise Conflict(
                    f"check-in {row.id} was already acknowledged (user {row.acknowledged_by}, "
                    f"{row.acknowledged_at.isoformat()})"
                )
            check_version("check-in", row.version, expected_version)
            row.acknowledged_by = actor.user_id
            row.acknowledged_at = utcnow()
            session.flush()
            audit.record(session, actor, "acknowledge", "check-in", row.id, row.patient_id)
            return _out(row)
    except StaleDataError:
        raise Conflict(f"check-in {check_in_id} was acknowledged by someone else") from None
