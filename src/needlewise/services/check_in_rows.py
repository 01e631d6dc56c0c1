"""The rows of a check-in batch: what the writer looks up, and the check-in row of one
submission (checked, its hours since treatment filled in, triaged)
(:mod:`needlewise.services.check_in_writer`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from needlewise.errors import InputError
from needlewise.persistence.models import CheckIn, Clinic, Patient, Screening, TreatmentSession
from needlewise.services.actor import Actor
from needlewise.services.check_in_guard import answers_digest
from needlewise.services.check_in_prepare import prepare
from needlewise.services.idempotency import Claim
from needlewise.services.outcomes import check_in_pain
from needlewise.services.patients import ensure_visible
from needlewise.services.runtime import Runtime
from needlewise.services.triage import conditions_from_screening, triage_document


@dataclass(frozen=True)
class Asked:
    """One check-in waiting for its group commit."""

    runtime: Runtime
    actor: Actor
    patient_id: int
    document: Any
    session_id: int | None
    claim: Claim | None = None


PATIENTS = (
    select(Patient.id, Patient.clinic_id, Patient.preferred_language, Clinic.phones)
    .join(Clinic, Clinic.id == Patient.clinic_id)
    .where(Patient.id.in_(bindparam("ids", expanding=True)))
)
LOCK = (
    select(Patient.id)
    .where(Patient.id.in_(bindparam("ids", expanding=True)))
    .order_by(Patient.id)
    .with_for_update(key_share=True)  # FOR NO KEY UPDATE: other inserts naming the patient go on
)
SESSIONS = select(
    TreatmentSession.id, TreatmentSession.patient_id, TreatmentSession.performed_at
).where(TreatmentSession.id.in_(bindparam("ids", expanding=True)))
_LATER = aliased(Screening)
#: each patient's latest screening (the one the session rules use too)
LATEST_SCREENINGS = select(Screening.id, Screening.patient_id, Screening.result).where(
    Screening.patient_id.in_(bindparam("ids", expanding=True)),
    Screening.id
    == select(_LATER.id)
    .where(_LATER.patient_id == Screening.patient_id)
    .order_by(_LATER.created_at.desc(), _LATER.id.desc())
    .limit(1)
    .correlate(Screening)
    .scalar_subquery(),
)
RECENT = select(
    CheckIn.id,
    CheckIn.patient_id,
    CheckIn.created_by,
    CheckIn.disposition,
    CheckIn.answers_sha256,
    CheckIn.acknowledged_at,
    CheckIn.created_at,
).where(
    CheckIn.patient_id.in_(bindparam("ids", expanding=True)),
    CheckIn.created_at >= bindparam("since"),
    CheckIn.created_by.like("link:%"),
)


def check_in_row(
    asked: Asked, patient: Any, sessions: dict[int, Any], screening: Any, now: datetime
) -> dict[str, Any]:
    """The check-in row of one submission (raises ``NotFound`` or ``InputError`` to refuse)."""
    actor, patient_id, session_id = asked.actor, asked.patient_id, asked.session_id
    ensure_visible(actor, patient_id, None if patient is None else patient.clinic_id)
    performed_at = None
    if session_id is not None:
        treatment = sessions.get(session_id)
        if treatment is None or treatment.patient_id != patient_id:
            raise InputError(f"no session {session_id} for this patient", "session_id")
        performed_at = treatment.performed_at
    language = patient.preferred_language if actor.link_id is not None else None
    to_triage, hours, source = prepare(asked.document, performed_at, language)
    check_in_pain(asked.document)  # a bad pain score refuses the check-in before it is stored
    kb = asked.runtime.kb
    conditions = (
        conditions_from_screening(screening.id, screening.result) if screening is not None else None
    )
    result = triage_document(to_triage, kb, conditions)
    return {
        "patient_id": patient_id,
        "session_id": session_id,
        "answers": asked.document,
        "result": {**result.to_json(), "hours_since_treatment": hours, "hours_source": source},
        "disposition": result.disposition.value,
        "knowledge_version": kb.stamp.version,
        "knowledge_sha256": kb.stamp.sha256,
        "created_by": actor.ref,
        "created_at": now,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "version": 1,
        "answers_sha256": answers_digest(asked.document),
        "repeat_count": 0,
        "refused_count": 0,
        "last_seen_at": None,
        "flagged": False,
    }
