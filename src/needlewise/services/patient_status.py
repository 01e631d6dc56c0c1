"""Where each patient stands before treatment: the screening the session rules decide on
and the consent in force, for a list of patients at once (the clinic's today list).

The same rules as recording a session (:mod:`needlewise.services.session_rules`): the
screening is the patient's *decisive* one
(:mod:`needlewise.services.decisive_screening`), the consent the latest signed one unless
withdrawn. Only patients of the caller's clinic are answered (others are left out); every
screening and consent named is audited as a read, like ``GET /api/screenings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from needlewise.persistence.models import Consent, Patient
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.decisive_screening import decisive_screening
from needlewise.services.runtime import Runtime

ConsentState = Literal["signed", "withdrawn", "none"]


class PatientStatus(BaseModel):
    """One patient's screening decision and consent, as the session rules see them."""

    patient_id: int
    screening_id: int | None = Field(description="The decisive screening (null: none)")
    decision: Literal["eligible", "review", "not-eligible"] | None = Field(
        description="Its decision (null: the patient has not been screened)"
    )
    consent_id: int | None = Field(description="The latest signed consent (null: none)")
    consent: ConsentState = Field(
        description="signed: in force; withdrawn: the latest was withdrawn; none: never signed"
    )

    @property
    def ready(self) -> bool:
        """Screened (not not-eligible) and consented: a session may be recorded."""
        return self.decision in {"eligible", "review"} and self.consent == "signed"


def patient_statuses(
    runtime: Runtime, actor: Actor, patient_ids: Iterable[int]
) -> dict[int, PatientStatus]:
    """``{patient id: status}`` for the patients of the caller's clinic among
    ``patient_ids`` (needs ``screenings:read`` and ``consents:read``)."""
    actor.require("screenings:read")
    actor.require("consents:read")
    wanted = list(dict.fromkeys(patient_ids))
    found: dict[int, PatientStatus] = {}
    if not wanted:
        return found
    with runtime.db.read() as tx:
        mine = tx.scalars(
            select(Patient.id).where(Patient.id.in_(wanted), Patient.clinic_id == actor.clinic_id)
        )
        for patient_id in mine:
            decisive = decisive_screening(tx, patient_id)
            latest = tx.scalars(
                select(Consent)
                .where(Consent.patient_id == patient_id)
                .order_by(Consent.signed_at.desc(), Consent.id.desc())
                .limit(1)
            ).first()
            state: ConsentState = (
                "none" if latest is None else "withdrawn" if latest.withdrawn_at else "signed"
            )
            found[patient_id] = PatientStatus(
                patient_id=patient_id,
                screening_id=None if decisive is None else decisive.screening.id,
                decision=None if decisive is None else decisive.screening.decision,
                consent_id=None if latest is None else latest.id,
                consent=state,
            )
    ordered = [found[i] for i in wanted if i in found]
    audit.record_reads(
        runtime.db,
        actor,
        "screening",
        [(s.screening_id, s.patient_id) for s in ordered if s.screening_id is not None],
    )
    audit.record_reads(
        runtime.db,
        actor,
        "consent",
        [(s.consent_id, s.patient_id) for s in ordered if s.consent_id is not None],
    )
    return {s.patient_id: s for s in ordered}
