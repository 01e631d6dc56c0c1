"""The clinically decisive screening of a patient: the one the session rules decide on.

A patient may have many stored screenings — from a clinician, from front desk, from the
patient's own intake through a link. Taking simply the newest one let anyone who may
store a screening clear a contraindication (issue 9). The decisive screening is:

1. none, when the patient has no stored screening;
2. when the patient has a ``not-eligible`` screening, the latest one (call it *N*) stays
   decisive until **a clinician** enters a screening after it. Screenings after *N*
   entered by anyone else — front desk or an admin (stored before this rule refused
   them), the patient through an intake link, the system — do not change it;
3. otherwise — no not-eligible screening at all, or a clinician screened the patient
   after *N* — the latest screening, whoever entered it.

"Latest" and "after" order by ``created_at``, then ``id``. "Entered by a clinician" means
``created_by`` is ``user:ID`` of a user of the patient's clinic whose role *now* is
clinician: a clinician later demoted no longer counts, which errs towards keeping the
not-eligible decision (a clinician screens again).

Storing a screening keeps to the same rule (:func:`clearing_needs_clinician`): while the
decisive screening is not-eligible, only a clinician may store one that is not
not-eligible; a patient's intake through a link is stored but, by rule 2, does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from needlewise.persistence.models import Patient, Screening, User
from needlewise.security.roles import Role

NOT_ELIGIBLE = "not-eligible"

Why = Literal["latest", "not-eligible-stands", "cleared-by-clinician"]

_WHY_TEXT: dict[Why, str] = {
    "latest": "the latest screening, and no screening of this patient is not-eligible",
    "not-eligible-stands": (
        "the latest not-eligible screening: no clinician has screened the patient since, "
        "so later screenings do not change it"
    ),
    "cleared-by-clinician": (
        "the latest screening: a clinician screened the patient after the last "
        "not-eligible screening"
    ),
}


@dataclass(frozen=True)
class Decisive:
    """The decisive screening and why it is the one.

    ``clears``: the not-eligible screening a clinician's later screening superseded
    (``cleared-by-clinician``). ``not_counted``: screenings after a standing not-eligible
    one that did not change it (``not-eligible-stands``), oldest first.
    """

    screening: Screening
    why: Why
    clears: int | None = None
    not_counted: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        """Why, in words (ids only, no patient data)."""
        return _WHY_TEXT[self.why]

    @property
    def blocks(self) -> bool:
        """True when the decisive screening is not-eligible."""
        return self.screening.decision == NOT_ELIGIBLE


def _after(row: Screening) -> ColumnElement[bool]:
    return or_(
        Screening.created_at > row.created_at,
        and_(Screening.created_at == row.created_at, Screening.id > row.id),
    )


def user_id_of(ref: str) -> int | None:
    """The user id of a ``user:ID`` reference (``None`` for ``link:ID``, ``system``)."""
    kind, _, number = ref.partition(":")
    return int(number) if kind == "user" and number.isdigit() else None


def clinician_ids(tx: Session, patient_id: int, refs: list[str]) -> set[int]:
    """The ids among ``refs`` of users of the patient's clinic whose role is clinician."""
    ids = {uid for uid in map(user_id_of, refs) if uid is not None}
    if not ids:
        return set()
    clinic = select(Patient.clinic_id).where(Patient.id == patient_id).scalar_subquery()
    found = tx.scalars(
        select(User.id).where(
            User.id.in_(ids), User.role == Role.clinician.value, User.clinic_id == clinic
        )
    )
    return set(found)


def decisive_screening(tx: Session, patient_id: int) -> Decisive | None:
    """The patient's decisive screening (see the module docstring), ``None`` without one.

    Inside the caller's transaction; neither scoped to a clinic nor audited (the caller
    has checked the patient and audits what it does).
    """
    of_patient = Screening.patient_id == patient_id
    newest_first = (Screening.created_at.desc(), Screening.id.desc())
    latest = tx.scalars(
        select(Screening).where(of_patient).order_by(*newest_first).limit(1)
    ).first()
    if latest is None:
        return None
    if latest.decision == NOT_ELIGIBLE:
        return Decisive(latest, "not-eligible-stands")
    standing = tx.scalars(
        select(Screening)
        .where(of_patient, Screening.decision == NOT_ELIGIBLE)
        .order_by(*newest_first)
        .limit(1)
    ).first()
    if standing is None:
        return Decisive(latest, "latest")
    later = tx.execute(
        select(Screening.id, Screening.created_by)
        .where(of_patient, _after(standing))
        .order_by(Screening.created_at, Screening.id)
    ).all()
    clinicians = clinician_ids(tx, patient_id, [ref for _, ref in later])
    if any(user_id_of(ref) in clinicians for _, ref in later):
        return Decisive(latest, "cleared-by-clinician", clears=standing.id)
    return Decisive(standing, "not-eligible-stands", not_counted=tuple(sid for sid, _ in later))


def clearing_needs_clinician(
    tx: Session, role: Role | None, patient_id: int, decision: str
) -> Screening | None:
    """The not-eligible screening that storing a ``decision`` screening by ``role`` would
    change without a clinician, else ``None`` (storing is then allowed).

    A not-eligible screening may be stored by anyone (it only adds a contraindication);
    another decision while the decisive screening is not-eligible needs a clinician.
    """
    if decision == NOT_ELIGIBLE or role is Role.clinician:
        return None
    decisive = decisive_screening(tx, patient_id)
    if decisive is None or not decisive.blocks:
        return None
    return decisive.screening
