"""Recording after-treatment check-ins: the patient's answers and their triage result.

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

**Where the rest lives.** What callers get back: :mod:`~needlewise.services.check_in_models`
(built by :mod:`~needlewise.services.check_in_presenter`); the batch writer:
:mod:`~needlewise.services.check_in_writer`; filling in hours and language:
:mod:`~needlewise.services.check_in_prepare` (an aftercare QuestionnaireResponse is edited
by :mod:`needlewise.interop.fhir.aftercare_fill`); reading, listing and acknowledging
check-ins (the clinicians' work queue): :mod:`~needlewise.services.check_in_review`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from needlewise.errors import Conflict, NotFound, TooManyRequests, audited
from needlewise.persistence.models import CheckIn
from needlewise.services import escalation, idempotency
from needlewise.services.actor import Actor
from needlewise.services.check_in_guard import check_submission
from needlewise.services.check_in_models import CheckInOut
from needlewise.services.check_in_presenter import check_in_out
from needlewise.services.check_in_rows import Asked
from needlewise.services.check_in_writer import Written, write_check_ins
from needlewise.services.idempotency import Answer, Claim, KeyTaken
from needlewise.services.runtime import Runtime

__all__ = ["record_check_in", "record_check_in_async", "submit_check_in"]


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
    with runtime.db.read() as tx:
        row = tx.get(CheckIn, written.check_in_id)
        if row is None:  # pragma: no cover - it was committed before this read
            raise NotFound(f"no check-in {written.check_in_id}")
        return check_in_out(row)


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
    written = runtime.db.group.run(asked, write_check_ins)
    escalation.wake_for(runtime, written.check_in)
    return _stored(runtime, written)


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
    escalation.wake_for(runtime, written.check_in)
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
    escalation.wake_for(runtime, written.check_in)
    return written.answer
