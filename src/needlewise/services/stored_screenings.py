"""Stored screenings: a patient's screening input, the result and the knowledge it used.

A stored screening runs the same use case as ``POST /api/screen``
(:func:`needlewise.services.stateless_screening.screen_document`) and keeps, unchangeable:

* ``inputs`` — the document as screened. When it holds no Patient resource, a Patient
  built from the birth date on the patient's record is added (a Bundle gets it as its
  last entry; a bare QuestionnaireResponse is wrapped in a ``collection`` Bundle with
  it), so the age rule sees the birth date the clinic recorded. A Patient the document
  brings wins: its birth date is what the EHR sent. The added Patient has no id, so it
  never clashes with the document's own ``subject`` references.
  The patient's imported clinical records (``clinical_records``:
  :mod:`needlewise.services.fhir_import`) that could fire a rule are added the same way,
  after it, so a
  medicine or condition the EHR sent fires its rule even when the document leaves it
  out; their ``subject``/``patient`` references (the EHR's ids) are dropped, and a
  record the document already holds (same ``Type/id``) is not added twice.
* ``result`` — the screening result exactly as ``POST /api/screen`` returns it, with
  ``decision`` and the knowledge version, content sha256 and value-set sha256 also kept
  in their own columns.
* ``created_by`` — ``user:ID`` for staff, ``link:ID`` when the patient answered the intake
  through a link.

Every read and write is audited. While a patient's decisive screening is not-eligible,
only a clinician may store a screening with another decision (others get 403, audited
``denied``); a patient's intake through a link is stored but does not change the decisive
screening (:mod:`needlewise.services.decisive_screening`, what the session rules use).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from needlewise.errors import Forbidden, InputError, NotFound, audited
from needlewise.interop.fhir.bundle import read_screening_document
from needlewise.interop.fhir.prefilter import may_fire
from needlewise.interop.fhir.questionnaire import intake_questionnaire
from needlewise.knowledge.codeindex import CodeIndex
from needlewise.persistence.models import ClinicalRecord, Patient, Screening
from needlewise.services import audit, idempotency, links
from needlewise.services.actor import Actor
from needlewise.services.decisive_screening import (
    clearing_needs_clinician,
    clinician_ids,
    decisive_screening,
    user_id_of,
)
from needlewise.services.documents import check_language
from needlewise.services.idempotency import Once, Resource
from needlewise.services.paging import Page, PageParams
from needlewise.services.patients import get_in_clinic
from needlewise.services.runtime import Runtime
from needlewise.services.screening_inputs import with_imported_records, with_recorded_birth_date
from needlewise.services.stateless_screening import screen_document

Decision = Literal["eligible", "review", "not-eligible"]


class StoredKnowledge(BaseModel):
    """The knowledge a stored screening used."""

    version: str
    sha256: str
    value_sets_sha256: str


class ScreeningRecord(BaseModel):
    """A stored screening (lists leave out ``inputs``; the single read includes them)."""

    id: int
    patient_id: int
    decision: Decision
    electrical_stimulation: bool | None = Field(
        description="Whether electrical stimulation was planned (null: not known)"
    )
    result: dict[str, Any] = Field(
        description="The screening result, as POST /api/screen returns it (findings, "
        "unanswered, policies, knowledge, language, citations)"
    )
    knowledge: StoredKnowledge
    created_by: str = Field(description="user:ID, or link:ID when the patient sent it")
    created_at: datetime
    inputs: dict[str, Any] | None = Field(
        default=None,
        description="The document as screened (single read only; null in lists)",
    )


def _record(row: Screening, *, with_inputs: bool = False) -> ScreeningRecord:
    return ScreeningRecord(
        id=row.id,
        patient_id=row.patient_id,
        decision=row.decision,
        electrical_stimulation=row.electrical_stimulation,
        result=row.result,
        knowledge=StoredKnowledge(
            version=row.knowledge_version,
            sha256=row.knowledge_sha256,
            value_sets_sha256=row.value_sets_sha256,
        ),
        created_by=row.created_by,
        created_at=row.created_at,
        inputs=row.inputs if with_inputs else None,
    )


def _screen(
    runtime: Runtime,
    document: Any,
    birth_date: date | None,
    electrical_stimulation: bool | None,
    language: str,
    imported: list[dict[str, Any]] | None = None,
) -> tuple[Any, dict[str, Any], str]:
    """(document as screened, result JSON, decision); ``InputError`` for bad input."""
    language = check_language(language)
    if isinstance(document, dict) and document.get("resourceType") == "QuestionnaireResponse":
        # read it bare first: errors then name paths in the caller's document, and an
        # answer to another Questionnaire is refused rather than skipped inside a Bundle
        read_screening_document(document, runtime.kb)
    screened = with_imported_records(with_recorded_birth_date(document, birth_date), imported or [])
    result = screen_document(
        screened,
        runtime.kb,
        electrical_stimulation=electrical_stimulation,
        language=language,
    )
    return screened, result.to_json(), result.decision


def imported_records(tx: Session, patient_id: int, codes: CodeIndex) -> list[dict[str, Any]]:
    """The patient's imported clinical records (FHIR JSON), oldest first: those that could
    fire a rule (:func:`~needlewise.interop.fhir.prefilter.may_fire`, the check the
    screening reader makes itself), so a long EHR history of vital signs does not swell
    every stored screening's inputs."""
    rows = tx.scalars(
        select(ClinicalRecord.resource)
        .where(ClinicalRecord.patient_id == patient_id)
        .order_by(ClinicalRecord.id)
    )
    return [r for r in rows if may_fire(str(r.get("resourceType")), r, codes)]


def _patient_facts(
    runtime: Runtime, actor: Actor, patient_id: int
) -> tuple[date | None, list[dict[str, Any]]]:
    """The patient's recorded birth date and imported records."""
    with runtime.db.read() as tx:
        birth_date = get_in_clinic(tx, actor, patient_id).birth_date
        return birth_date, imported_records(tx, patient_id, runtime.kb.codes)


def _insert(
    tx: Session,
    actor: Actor,
    patient_id: int,
    screened: Any,
    result: dict[str, Any],
    decision: str,
    electrical_stimulation: bool | None,
    runtime: Runtime,
) -> Screening:
    stamp = runtime.kb.stamp
    row = Screening(
        patient_id=patient_id,
        decision=decision,
        inputs=screened,
        result=result,
        electrical_stimulation=electrical_stimulation,
        knowledge_version=stamp.version,
        knowledge_sha256=stamp.sha256,
        value_sets_sha256=stamp.value_sets_sha256,
        created_by=actor.ref,
    )
    tx.add(row)
    tx.flush()
    audit.record(tx, actor, "create", "screening", row.id, patient_id)
    return row


def create_screening(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    document: Any,
    *,
    electrical_stimulation: bool | None = None,
    language: str = "en",
    once: Once[ScreeningRecord] | None = None,
) -> ScreeningRecord:
    """Screen ``document`` (parsed FHIR JSON) for this patient and store the result.

    ``electrical_stimulation``: is it planned (``None``: not known, which counts as
    planned). ``language`` is the language of the result's titles. Raises
    ``InputError`` (nothing stored) for a document screening cannot read, and
    ``Forbidden`` (nothing stored; audited ``denied``) when a non-clinician's screening
    would change a not-eligible decision (:mod:`needlewise.services.decisive_screening`).
    With ``once`` (an ``Idempotency-Key``), the answer is kept in the same transaction.
    """
    actor.require("screenings:write")
    birth_date, imported = _patient_facts(runtime, actor, patient_id)
    screened, result, decision = _screen(
        runtime, document, birth_date, electrical_stimulation, language, imported
    )
    with runtime.db.write() as tx:
        get_in_clinic(tx, actor, patient_id)
        standing = clearing_needs_clinician(tx, actor.role, patient_id, decision)
        if standing is None:
            row = _insert(
                tx,
                actor,
                patient_id,
                screened,
                result,
                decision,
                electrical_stimulation,
                runtime,
            )
            out = _record(row, with_inputs=True)
            resource = Resource("screening", row.id, patient_id)
            idempotency.keep(tx.connection(), once, out, resource)
            return out
        standing_id = standing.id
    with runtime.db.write() as tx:
        audit.record(tx, actor, "create", "screening", None, patient_id, outcome="denied")
    raise audited(
        Forbidden(
            f"only a clinician may change a not-eligible decision: screening {standing_id} is "
            f"not-eligible and this screening is {decision}. Nothing was stored; ask a "
            "clinician to screen the patient",
            permission="screenings:change-not-eligible",
            screening_id=standing_id,
        )
    )


def _require_link(actor: Actor, purpose: str) -> int:
    """The patient id of a patient-link actor opened for ``purpose``."""
    if actor.link_id is None or actor.link_purpose != purpose or actor.patient_id is None:
        raise NotFound("this link is not valid")
    return actor.patient_id


def intake_form(runtime: Runtime, actor: Actor) -> dict[str, Any]:
    """The intake Questionnaire for an intake link, in the patient's preferred language."""
    patient_id = _require_link(actor, "intake")
    with runtime.db.read() as tx:
        language = get_in_clinic(tx, actor, patient_id).preferred_language
    audit.record_reads(runtime.db, actor, "intake-questionnaire", [(None, patient_id)])
    return intake_questionnaire(runtime.kb, check_language(language))


def submit_intake(
    runtime: Runtime, actor: Actor, document: Any, once: Once[ScreeningRecord] | None = None
) -> ScreeningRecord:
    """Store the intake answers a patient sent through an intake link.

    ``document`` must be an intake QuestionnaireResponse. The screening is stored with
    ``created_by`` = ``link:ID`` and the link is marked used in the same transaction
    (a second submission gets 410). Electrical stimulation is not known at intake.
    The caller must not show the result to the patient: staff review it. With ``once``
    (an ``Idempotency-Key``), the answer is kept in the same transaction.
    """
    patient_id = _require_link(actor, "intake")
    if not isinstance(document, dict) or document.get("resourceType") != "QuestionnaireResponse":
        raise InputError("send the intake answers as a QuestionnaireResponse", "$.resourceType")
    with runtime.db.read() as tx:
        patient = get_in_clinic(tx, actor, patient_id)
        birth_date, language = patient.birth_date, patient.preferred_language
        imported = imported_records(tx, patient_id, runtime.kb.codes)
    screened, result, decision = _screen(runtime, document, birth_date, None, language, imported)
    with runtime.db.write() as tx:
        get_in_clinic(tx, actor, patient_id)
        links.use_link(tx, actor)  # locks the link row: one submission wins
        audit.record(tx, actor, "use", "patient-link", actor.link_id, patient_id)
        row = _insert(tx, actor, patient_id, screened, result, decision, None, runtime)
        out = _record(row)
        idempotency.keep(tx.connection(), once, out, Resource("screening", row.id, patient_id))
        return out


def get_screening(runtime: Runtime, actor: Actor, screening_id: int) -> ScreeningRecord:
    """One stored screening, with its inputs."""
    actor.require("screenings:read")
    with runtime.db.read() as tx:
        row = tx.get(Screening, screening_id)
        if row is None:
            raise NotFound(f"no screening {screening_id}")
        try:
            get_in_clinic(tx, actor, row.patient_id)
        except NotFound:
            raise NotFound(f"no screening {screening_id}") from None
        out = _record(row, with_inputs=True)
    audit.record_reads(runtime.db, actor, "screening", [(out.id, out.patient_id)])
    return out


def list_screenings(
    runtime: Runtime,
    actor: Actor,
    page: PageParams,
    *,
    patient_id: int | None = None,
    decision: str | None = None,
) -> Page[ScreeningRecord]:
    """Stored screenings of the clinic, newest first (without their inputs)."""
    actor.require("screenings:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(Screening.patient_id == patient_id)
    if decision is not None:
        conditions.append(Screening.decision == decision)
    base = select(Screening).join(Patient, Patient.id == Screening.patient_id).where(*conditions)
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = tx.scalars(
            base.order_by(Screening.created_at.desc(), Screening.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_record(row) for row in rows]
    audit.record_reads(runtime.db, actor, "screening", [(s.id, s.patient_id) for s in items])
    return Page[ScreeningRecord](items=items, total=total, limit=page.limit, offset=page.offset)


def latest_screening(tx: Session, patient_id: int) -> Screening | None:
    """The patient's most recent stored screening (any decision), or ``None``.

    Inside the caller's transaction; neither scoped to a clinic nor audited. The session
    rules use the *decisive* screening instead (:func:`get_decisive` for callers).
    """
    return tx.scalars(
        select(Screening)
        .where(Screening.patient_id == patient_id)
        .order_by(Screening.created_at.desc(), Screening.id.desc())
        .limit(1)
    ).first()


class DecisiveOut(BaseModel):
    """The screening the session rules decide on, who entered it and why it is the one."""

    screening: ScreeningRecord
    why: str = Field(description="Why this screening is decisive, in words")
    rule: Literal["latest", "not-eligible-stands", "cleared-by-clinician"] = Field(
        description="latest: no screening is not-eligible; not-eligible-stands: the latest "
        "not-eligible screening, no clinician has screened since; cleared-by-clinician: a "
        "clinician screened after the last not-eligible screening"
    )
    entered_by: str = Field(description="user:ID, or link:ID when the patient sent it")
    entered_by_clinician: bool
    clears: int | None = Field(
        description="The not-eligible screening a clinician's later screening superseded"
    )
    not_counted: list[int] = Field(
        description="Later screenings that did not change a standing not-eligible one "
        "(entered by front desk, an admin or the patient)"
    )


def get_decisive(runtime: Runtime, actor: Actor, patient_id: int) -> DecisiveOut:
    """The patient's decisive screening (404 when there is none); the read is audited."""
    actor.require("screenings:read")
    with runtime.db.read() as tx:
        get_in_clinic(tx, actor, patient_id)
        decisive = decisive_screening(tx, patient_id)
        if decisive is None:
            raise NotFound(f"patient {patient_id} has no stored screening")
        row = decisive.screening
        uid = user_id_of(row.created_by)
        out = DecisiveOut(
            screening=_record(row),
            why=decisive.text,
            rule=decisive.why,
            entered_by=row.created_by,
            entered_by_clinician=uid is not None
            and uid in clinician_ids(tx, patient_id, [row.created_by]),
            clears=decisive.clears,
            not_counted=list(decisive.not_counted),
        )
    audit.record_reads(runtime.db, actor, "screening", [(out.screening.id, patient_id)])
    return out
