"""Outcome scores: record one, list a patient's with their judgements, say what is due.

* :func:`record_outcome` (clinicians, ``sessions:write``): a PSFS, NDI, ODI or NPRS score
  from the item scores entered, scored by the measure's method in the knowledge base
  (:func:`needlewise.domain.outcomes.score`); the items are stored with it. Bad input is
  refused with the item named (``$.items[3].score``) and the refusal is audited.
* :func:`check_in_pain` / :func:`check_in_pain_row`: the optional 0-10 pain score a
  patient gives in a check-in (the aftercare Questionnaire's ``pain`` item), checked
  before the check-in is stored and written as an NPRS row with its ``check_in_id`` in
  the check-in's own transaction (:mod:`needlewise.services.check_in_writer`).
* :func:`patient_outcomes` (``sessions:read``, like sessions): every score of a patient,
  oldest first, each judged against the first score of its measure (the baseline) by
  every MCID the knowledge base stores for it, with the MCID's population and source;
  the NPRS series (sessions' pain before and after needling, check-in and recorded
  scores); and the function questionnaires due now.

NPRS judgements compare pain *before* needling (and NPRS recorded or given in a
check-in) with the first such score; pain *after* needling is shown, not judged (it is
the same visit). A function questionnaire is due at the patient's first session and
every ``settings.outcome_every_sessions`` sessions after it (1, 1+N, …), for the
measures the needled regions call for (``measures.yaml``: ``function_measures``), and
whenever a region calls for a measure never scored yet (its baseline).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from needlewise.domain import outcomes as scoring
from needlewise.errors import InputError
from needlewise.interop.fhir.canonical import PAIN_ITEM
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Measure
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import OutcomeScore, TreatmentSession
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.documents import validate
from needlewise.services.patients import get_in_clinic
from needlewise.services.records import MAX_ID
from needlewise.services.runtime import Runtime

KIND = "outcome-score"
NPRS = "measure.nprs"
CLOCK_SKEW = timedelta(minutes=5)
#: where a pain score of the NPRS series comes from
NprsSource = Literal["session-before", "session-after", "check-in", "recorded"]


class OutcomeItemIn(BaseModel):
    """One item: ``key`` names an NDI/ODI section, ``name`` a PSFS activity (the
    patient's words); ``score`` ``null`` skips an ODI section."""

    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(default=None, max_length=40, examples=["pain-intensity"])
    name: str | None = Field(default=None, max_length=200, examples=["climbing stairs"])
    score: int | None = Field(description="NPRS/PSFS 0-10; NDI/ODI sections 0-5")


class OutcomeScoreIn(BaseModel):
    """A score to record, from its items (the score itself is computed, never sent)."""

    model_config = ConfigDict(extra="forbid")
    measure: str = Field(max_length=40, examples=["measure.ndi"])
    items: list[OutcomeItemIn] = Field(max_length=20)
    session_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The session it was taken at, if any"
    )
    recorded_at: AwareDatetime | None = Field(
        default=None,
        description="When the patient answered (default: the session's time, else now)",
    )


class McidOut(BaseModel):
    """Change against baseline judged by one MCID (its population, its source)."""

    source: str
    citation: str
    value: float
    unit: str
    population: dict[str, str] = Field(description="{language: text}")
    evidence: str
    improvement: float | None = Field(description="In the MCID's unit; negative: worse")
    verdict: Literal["improved", "within", "worse", "not-judged"]


class JudgementOut(BaseModel):
    baseline_score: float
    baseline_at: datetime
    change: float = Field(description="Score minus baseline, in the measure's points")
    mcids: list[McidOut]


class OutcomeScoreOut(BaseModel):
    id: int
    patient_id: int
    session_id: int | None
    check_in_id: int | None
    measure: str
    score: float
    percent: float | None = Field(description="NDI: the score as 0-100 percent")
    items: dict[str, object]
    recorded_at: datetime
    knowledge_version: str
    created_by: str
    created_at: datetime
    judgement: JudgementOut | None = Field(description="None for the baseline itself")


class NprsPointOut(BaseModel):
    source: NprsSource
    score: int
    at: datetime
    session_id: int | None = None
    check_in_id: int | None = None
    outcome_id: int | None = None
    judgement: JudgementOut | None = None


class DueOut(BaseModel):
    measure: str
    reason: Literal["baseline", "scheduled"]
    session_id: int
    ordinal: int = Field(description="The session's place among the patient's (1 = first)")


class PatientOutcomesOut(BaseModel):
    patient_id: int
    every_sessions: int
    scores: list[OutcomeScoreOut]
    nprs: list[NprsPointOut]
    due: list[DueOut]


def _measure(kb: KnowledgeBase, measure_id: str) -> Measure:
    found = kb.measure(measure_id)
    if found is None or found.method is None:
        scored = ", ".join(m.id for m in kb.data.measures if m.method is not None)
        raise InputError(f"not a measure scored here; use one of {scored}", "$.measure")
    return found


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _judgement(
    kb: KnowledgeBase, measure: Measure, baseline: tuple[float, datetime], current: float
) -> JudgementOut:
    return JudgementOut(
        baseline_score=baseline[0],
        baseline_at=baseline[1],
        change=round(current - baseline[0], 9),
        mcids=[
            McidOut(
                source=j.mcid.source,
                citation=kb.citation(j.mcid.source),
                value=j.mcid.value,
                unit=j.mcid.unit,
                population={"en": j.mcid.population.en, "es": j.mcid.population.es},
                evidence=str(j.mcid.evidence),
                improvement=j.improvement,
                verdict=j.verdict,
            )
            for j in scoring.judge(measure, baseline[0], current)
        ],
    )


def _out(row: OutcomeScore, judgement: JudgementOut | None) -> OutcomeScoreOut:
    percent = row.items.get("percent") if isinstance(row.items, dict) else None
    return OutcomeScoreOut(
        id=row.id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        check_in_id=row.check_in_id,
        measure=row.measure,
        score=row.score,
        percent=float(percent) if isinstance(percent, int | float) else None,
        items=dict(row.items or {}),
        recorded_at=_utc(row.recorded_at),
        knowledge_version=row.knowledge_version,
        created_by=row.created_by,
        created_at=_utc(row.created_at),
        judgement=judgement,
    )


def _refuse(runtime: Runtime, actor: Actor, patient_id: int, error: InputError) -> InputError:
    with runtime.db.write() as tx:
        audit.record(tx, actor, "create", KIND, None, patient_id, outcome="refused")
    return error


def record_outcome(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    data: OutcomeScoreIn,
    *,
    now: datetime | None = None,
) -> OutcomeScoreOut:
    """Score ``data`` by its measure's method and store it (audited; a refusal of bad
    input is audited as ``refused`` and nothing is stored)."""
    actor.require("sessions:write")
    moment = now or utcnow()
    try:
        measure = _measure(runtime.kb, data.measure)
        scored = scoring.score(measure, [scoring.Item(i.score, i.key, i.name) for i in data.items])
        recorded_at = (data.recorded_at or moment).astimezone(UTC)
        if recorded_at > moment + CLOCK_SKEW:
            raise InputError("cannot be in the future", "$.recorded_at")
        with runtime.db.write() as tx:
            patient = get_in_clinic(tx, actor, patient_id)
            if data.session_id is not None:
                session = tx.get(TreatmentSession, data.session_id)
                if session is None or session.patient_id != patient.id:
                    raise InputError(
                        f"no session {data.session_id} for this patient", "$.session_id"
                    )
                if data.recorded_at is None:  # taken at the session: its time
                    recorded_at = _utc(session.performed_at)
            row = OutcomeScore(
                patient_id=patient.id,
                session_id=data.session_id,
                measure=measure.id,
                score=scored.score,
                items=scored.items_json(),
                recorded_at=recorded_at,
                knowledge_version=runtime.kb.version,
                created_by=actor.ref,
            )
            tx.add(row)
            tx.flush()
            audit.record(tx, actor, "create", KIND, row.id, patient.id)
            baseline = _baseline(tx, runtime.kb, patient.id, measure.id)
            judgement = (
                _judgement(runtime.kb, measure, baseline[1:], row.score)
                if baseline is not None and baseline[0] != ("outcome", row.id)
                else None
            )
            return _out(row, judgement)
    except InputError as error:
        raise _refuse(runtime, actor, patient_id, error) from None


def record_outcome_document(
    runtime: Runtime, actor: Actor, patient_id: int, document: Any
) -> OutcomeScoreOut:
    """:func:`record_outcome` from a JSON document (the API's body): a document that is
    not an :class:`OutcomeScoreIn` is refused naming the field, and audited."""
    actor.require("sessions:write")
    try:
        data = validate(OutcomeScoreIn, document)
    except InputError as error:
        raise _refuse(runtime, actor, patient_id, error) from None
    return record_outcome(runtime, actor, patient_id, data)


def check_in_pain(document: Any) -> int | None:
    """The 0-10 pain score of a check-in (the aftercare QuestionnaireResponse's optional
    ``pain`` item), ``None`` when not answered; ``InputError`` naming the answer when it
    is not a whole number from 0 to 10. Other check-in documents carry none."""
    if not isinstance(document, dict) or document.get("resourceType") != "QuestionnaireResponse":
        return None
    items = document.get("item")
    if not isinstance(items, list):
        return None
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("linkId") != PAIN_ITEM:
            continue
        answers = item.get("answer") or []
        if not isinstance(answers, list) or len(answers) > 1:
            raise InputError("give one pain score", f"$.item[{i}].answer")
        if not answers:
            return None
        where = f"$.item[{i}].answer[0].valueInteger"
        value = answers[0].get("valueInteger") if isinstance(answers[0], dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise InputError("the pain score must be a whole number from 0 to 10", where)
        return value
    return None


def check_in_pain_row(
    kb: KnowledgeBase,
    *,
    patient_id: int,
    check_in_id: int,
    session_id: int | None,
    pain: int,
    recorded_at: datetime,
    created_by: str,
) -> dict[str, Any]:
    """The ``outcome_scores`` row (columns) of a check-in's pain score, for the check-in
    writer to insert in the check-in's own transaction."""
    scored = scoring.score(_measure(kb, NPRS), [scoring.Item(pain)])
    return {
        "patient_id": patient_id,
        "session_id": session_id,
        "check_in_id": check_in_id,
        "measure": NPRS,
        "score": scored.score,
        "items": scored.items_json(),
        "recorded_at": recorded_at,
        "knowledge_version": kb.version,
        "created_by": created_by,
        "created_at": recorded_at,
    }


def _nprs_baseline(
    sessions: list[TreatmentSession], rows: list[OutcomeScore]
) -> tuple[tuple[str, int], float, datetime] | None:
    candidates: list[tuple[datetime, int, tuple[str, int], float]] = [
        (_utc(s.performed_at), 0, ("session", s.id), float(s.pain_before))
        for s in sessions
        if s.pain_before is not None
    ]
    candidates += [(_utc(r.recorded_at), 1, ("outcome", r.id), r.score) for r in rows]
    if not candidates:
        return None
    at, _, ref, value = min(candidates, key=lambda c: (c[0], c[1], c[2][1]))
    return ref, value, at


def _baseline(
    tx: Session, kb: KnowledgeBase, patient_id: int, measure_id: str
) -> tuple[tuple[str, int], float, datetime] | None:
    rows = list(
        tx.scalars(
            select(OutcomeScore)
            .where(OutcomeScore.patient_id == patient_id, OutcomeScore.measure == measure_id)
            .order_by(OutcomeScore.recorded_at, OutcomeScore.id)
        )
    )
    if measure_id == NPRS:
        sessions = list(
            tx.scalars(select(TreatmentSession).where(TreatmentSession.patient_id == patient_id))
        )
        return _nprs_baseline(sessions, rows)
    if not rows:
        return None
    return ("outcome", rows[0].id), rows[0].score, _utc(rows[0].recorded_at)


def _regions(kb: KnowledgeBase, row: TreatmentSession) -> tuple[str, ...]:
    found: list[str] = []
    for needled in row.muscles:
        muscle = kb.muscle(needled.muscle)
        if muscle is not None and muscle.region not in found:
            found.append(muscle.region)
    return tuple(found)


def patient_outcomes(runtime: Runtime, actor: Actor, patient_id: int) -> PatientOutcomesOut:
    """Every outcome score of a patient with its judgements, the NPRS series and the
    questionnaires due (each score and session read is audited)."""
    actor.require("sessions:read")
    kb = runtime.kb
    every = runtime.settings.outcome_every_sessions
    with runtime.db.read() as tx:
        patient = get_in_clinic(tx, actor, patient_id)
        sessions = list(
            tx.scalars(
                select(TreatmentSession)
                .where(TreatmentSession.patient_id == patient.id)
                .options(selectinload(TreatmentSession.muscles))
                .order_by(TreatmentSession.performed_at, TreatmentSession.id)
            )
        )
        rows = list(
            tx.scalars(
                select(OutcomeScore)
                .where(OutcomeScore.patient_id == patient.id)
                .order_by(OutcomeScore.recorded_at, OutcomeScore.id)
            )
        )
        regions = {s.id: _regions(kb, s) for s in sessions}
    scores, nprs = _judged(kb, sessions, rows)
    due = _due(kb, sessions, regions, rows, every)
    audit.record_reads(
        runtime.db,
        actor,
        KIND,
        [(r.id, patient.id) for r in rows],
    )
    audit.record_reads(
        runtime.db,
        actor,
        "session",
        [
            (s.id, patient.id)
            for s in sessions
            if s.pain_before is not None or s.pain_after is not None
        ],
    )
    return PatientOutcomesOut(
        patient_id=patient.id, every_sessions=every, scores=scores, nprs=nprs, due=due
    )


def _judged(
    kb: KnowledgeBase, sessions: list[TreatmentSession], rows: list[OutcomeScore]
) -> tuple[list[OutcomeScoreOut], list[NprsPointOut]]:
    nprs_rows = [r for r in rows if r.measure == NPRS]
    nprs_base = _nprs_baseline(sessions, nprs_rows)
    baselines: dict[str, tuple[tuple[str, int], float, datetime]] = {}
    if nprs_base is not None:
        baselines[NPRS] = nprs_base
    for row in rows:
        if row.measure not in baselines:
            baselines[row.measure] = (("outcome", row.id), row.score, _utc(row.recorded_at))

    def judged(measure_id: str, ref: tuple[str, int], value: float) -> JudgementOut | None:
        measure = kb.measure(measure_id)
        base = baselines.get(measure_id)
        if measure is None or base is None or base[0] == ref:
            return None
        return _judgement(kb, measure, base[1:], value)

    scores = [_out(r, judged(r.measure, ("outcome", r.id), r.score)) for r in rows]
    points: list[NprsPointOut] = []
    for s in sessions:
        at = _utc(s.performed_at)
        if s.pain_before is not None:
            points.append(
                NprsPointOut(
                    source="session-before",
                    score=s.pain_before,
                    at=at,
                    session_id=s.id,
                    judgement=judged(NPRS, ("session", s.id), s.pain_before),
                )
            )
        if s.pain_after is not None:
            points.append(
                NprsPointOut(source="session-after", score=s.pain_after, at=at, session_id=s.id)
            )
    for r in nprs_rows:
        points.append(
            NprsPointOut(
                source="check-in" if r.check_in_id is not None else "recorded",
                score=int(r.score),
                at=_utc(r.recorded_at),
                session_id=r.session_id,
                check_in_id=r.check_in_id,
                outcome_id=r.id,
                judgement=scores[rows.index(r)].judgement,
            )
        )
    points.sort(key=lambda p: (p.at, p.source != "session-before"))
    return scores, points


def _due(
    kb: KnowledgeBase,
    sessions: list[TreatmentSession],
    regions: dict[int, tuple[str, ...]],
    rows: list[OutcomeScore],
    every: int,
) -> list[DueOut]:
    if not sessions:
        return []
    latest = sessions[-1]
    began = _utc(latest.performed_at)
    scored = [
        (
            r.measure,
            r.session_id
            if r.session_id is not None
            else (latest.id if _utc(r.recorded_at) >= began else None),
        )
        for r in rows
        if r.measure != NPRS
    ]
    facts = [scoring.SessionFacts(s.id, regions[s.id]) for s in sessions]
    return [
        DueOut(measure=d.measure, reason=d.reason, session_id=d.session_id, ordinal=d.ordinal)
        for d in scoring.due_measures(kb.data.function_measures, facts, scored, every)
    ]
