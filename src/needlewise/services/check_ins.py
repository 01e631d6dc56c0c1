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

**Floods and retries.** What a stored check-in may hold is checked first
(:mod:`needlewise.services.check_in_guard`: only what the aftercare Questionnaire asks,
with capped sizes). Submissions through a patient link are collapsed when repeated and
rate-limited (:mod:`needlewise.services.check_in_flood`); the patient is always told their
own triage. A create sent with an ``Idempotency-Key`` is answered once
(:mod:`needlewise.services.idempotency`): the key is kept in the same transaction.

Clinicians acknowledge a check-in (``check-ins:acknowledge``) once; a second time is 409.
The clinician list shows a flood once: the check-in with its ``repeat_count`` and
``refused_count``, ``flagged`` (``?flagged=true`` lists those).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from needlewise.errors import Conflict, NotFound, TooManyRequests, audited
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import CheckIn, Patient
from needlewise.services import audit, idempotency
from needlewise.services.actor import Actor
from needlewise.services.check_in_guard import check_submission
from needlewise.services.check_in_models import (
    CheckInOut,
    Disposition,
    PatientCheckInOut,
    PatientReasonOut,
)
from needlewise.services.check_in_rows import Asked
from needlewise.services.check_in_writer import Refusal, Written, write_check_ins
from needlewise.services.idempotency import Answer, Claim, KeyTaken
from needlewise.services.pages import Page, PageParams
from needlewise.services.records import check_version
from needlewise.services.runtime import Runtime

__all__ = [
    "CheckInOut",
    "Disposition",
    "PatientCheckInOut",
    "PatientReasonOut",
    "Refusal",
    "acknowledge_check_in",
    "get_check_in",
    "list_check_ins",
    "record_check_in",
    "record_check_in_async",
    "submit_check_in",
]


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
        repeat_count=row.repeat_count,
        refused_count=row.refused_count,
        last_seen_at=row.last_seen_at,
        flagged=row.flagged,
    )


def _authorize(actor: Actor, patient_id: int) -> None:
    if actor.link_id is not None:
        if actor.link_purpose != "check-in" or actor.patient_id != patient_id:
            raise NotFound(f"no patient {patient_id}")
    else:
        actor.require("check-ins:write")


def _asked(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    document: Any,
    session_id: int | None,
    claim: Claim | None = None,
) -> Asked:
    _authorize(actor, patient_id)
    check_submission(document, runtime.kb)
    return Asked(runtime, actor, patient_id, document, session_id, claim)


def _stored(runtime: Runtime, written: Written) -> CheckInOut:
    """The check-in a submission came to: the new one, or the one a repeat counts on;
    ``TooManyRequests`` when the rate limit refused it."""
    if written.check_in is not None:
        return written.check_in
    if written.answer.status == 429:
        raise audited(  # the writer recorded the refusal with the batch
            TooManyRequests(
                "too many check-ins in a short time", retry_after=written.answer.retry_after
            )
        )
    with runtime.db.read() as session:
        row = session.get(CheckIn, written.check_in_id)
        if row is None:  # pragma: no cover - it was committed before this read
            raise NotFound(f"no check-in {written.check_in_id}")
        return _out(row)


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
    ``InputError`` names ``session_id`` otherwise. Returns once the check-in is committed
    (through a link: the check-in a repeat is counted on; ``TooManyRequests`` when the
    rate limit refused it).
    """
    asked = _asked(runtime, actor, patient_id, document, session_id)
    return _stored(runtime, runtime.db.group.run(asked, write_check_ins))


async def record_check_in_async(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    document: Any,
    session_id: int | None = None,
) -> CheckInOut:
    """:func:`record_check_in` from async code: awaits the commit without a worker thread."""
    asked = _asked(runtime, actor, patient_id, document, session_id)
    written = await runtime.db.group.run_async(asked, write_check_ins)
    if written.check_in is not None:
        return written.check_in
    return await asyncio.to_thread(_stored, runtime, written)


async def submit_check_in(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    document: Any,
    session_id: int | None = None,
    claim: Claim | None = None,
) -> Answer:
    """Record a check-in for a door and return its answer: staff get the stored check-in
    (201, with its ETag); a patient link gets what to do (201 stored, 200 a repeat the
    clinic already has, 429 not stored, with Retry-After). With ``claim`` (an
    ``Idempotency-Key``), a retry gets the first answer and stores nothing."""
    asked = _asked(runtime, actor, patient_id, document, session_id, claim)
    try:
        written = await runtime.db.group.run_async(asked, write_check_ins)
    except KeyTaken:  # another process committed this key first: its answer
        assert claim is not None
        answer = await asyncio.to_thread(idempotency.replay, runtime, actor, claim)
        if answer is None:  # pragma: no cover - the key was committed before we looked
            raise Conflict("this Idempotency-Key is in use by another request") from None
        return answer
    return written.answer


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
    flagged: bool | None = None,
) -> Page[CheckInOut]:
    """Check-ins of the clinic, newest first; ``unacknowledged=true`` is the work queue
    (``false``: acknowledged ones only); ``flagged=true``: possible floods. Each one
    returned is audited."""
    actor.require("check-ins:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(CheckIn.patient_id == patient_id)
    if disposition is not None:
        conditions.append(CheckIn.disposition == disposition)
    if unacknowledged is not None:
        ack = CheckIn.acknowledged_at
        conditions.append(ack.is_(None) if unacknowledged else ack.is_not(None))
    if flagged is not None:
        conditions.append(CheckIn.flagged.is_(flagged))
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
