"""What a caller is told about a check-in: the stored check-in as staff see it, and
what a patient is told after sending one (:mod:`needlewise.services.check_in_models`).

The answers are built here once for every door: the group-commit writer
(:mod:`needlewise.services.check_in_writer`) keeps them with an ``Idempotency-Key``,
and the staff reads (:mod:`needlewise.services.check_in_review`) return them.
"""

from __future__ import annotations

from typing import Any

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier
from needlewise.messages import message
from needlewise.persistence.models import CheckIn
from needlewise.services.check_in_flood import Outcome
from needlewise.services.check_in_models import (
    CheckInOut,
    PatientCheckInOut,
    PatientReasonOut,
    Received,
)
from needlewise.services.idempotency import Answer
from needlewise.services.records import etag

_RECEIVED: dict[Outcome, Received] = {
    "store": "stored",
    "repeat": "repeat",
    "refused": "not-stored",
}
_STATUS: dict[Outcome, int] = {"store": 201, "repeat": 200, "refused": 429}


def check_in_out(row: CheckIn) -> CheckInOut:
    """A stored check-in as staff see it."""
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


def staff_answer(out: CheckInOut) -> Answer:
    """201 with the new check-in and its ETag (a check-in made by staff)."""
    return Answer(201, out.model_dump(mode="json"), etag("check-in", out.id, out.version))


def patient_answer(
    kb: KnowledgeBase,
    check_in: dict[str, Any],
    target: int,
    phones: list[str],
    outcome: Outcome,
    retry_after: int | None = None,
) -> Answer:
    """What a patient link is told: the triage of what was just sent (``check_in``, the
    row as written or as it would have been), naming the check-in the clinic has
    (``target``): 201 stored, 200 a repeat, 429 not stored (with ``retry_after``)."""
    received = _RECEIVED[outcome]
    told = _for_patient(kb, check_in, target, phones, received)
    if outcome != "refused":
        return Answer(_STATUS[outcome], told)
    error = {
        "code": "too-many-requests",
        "message": "too many check-ins from this link in a short time; the clinic already "
        "has a check-in at least as urgent",
        "location": None,
        "retry_after": retry_after,
    }
    return Answer(429, {**told, "error": error}, retry_after=retry_after)


def _for_patient(
    kb: KnowledgeBase, check_in: dict[str, Any], target: int, phones: list[str], received: Received
) -> dict[str, Any]:
    result = check_in["result"]
    language = result["language"]
    tier = Tier(check_in["disposition"])
    notice = None if received == "stored" else message(f"check-in.{received}", language)
    # the clinic has (or already had) an alert about an urgent check-in: escalation.py
    alerted = tier in (Tier.emergency, Tier.call_provider)
    return PatientCheckInOut(
        id=target,
        disposition=check_in["disposition"],
        title=kb.disposition(tier).title.get(language),
        call_911=tier is Tier.emergency,
        advice=result["advice"],
        reasons=[PatientReasonOut.model_validate(r) for r in result["reasons"]],
        language=language,
        clinic_phones=phones,
        received=received,
        notice=notice,
        clinic_alerted=alerted,
        clinic_notice=message(f"check-in.clinic-told.{tier.value}", language) if alerted else None,
    ).model_dump(mode="json")
