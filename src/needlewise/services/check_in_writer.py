"""The group-commit writer of check-ins (:class:`~needlewise.persistence.group_commit.GroupCommit`).

One call writes a whole batch in one transaction, whatever its size: a few lookups
(patients with their clinic's phones, latest screenings, sessions, the kept answers of
the batch's ``Idempotency-Key`` claims and, for patient-link submissions, the link
check-ins of the window), one multi-row insert of the new check-ins, one update of the
counts of repeated or refused submissions, the audit entries and the kept answers.
Rows go in with SQLAlchemy Core, not the ORM unit of work (check-ins are the busiest
write: a burst after a clinic day).

Per submission, in order: a claim whose key was answered before gets that answer (or
422 when the request differs; a second claim of one key in the same batch gets the
first's answer); then the checks and triage; then, for a patient link, the flood policy
(:mod:`needlewise.services.check_in_flood`). On PostgreSQL the batch first locks the
rows of the link submitters' patients (``FOR NO KEY UPDATE``, in id order), so batches of two
processes decide on a patient one after the other; SQLite has one writer anyway.

A check-in that is refused (not the caller's patient, a session of another patient,
answers that cannot be triaged, a key used for another request) gets its error in its
place and nothing is written for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from needlewise.errors import InputError, ServiceError
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import CheckIn, OutcomeScore
from needlewise.services import audit, escalation, idempotency
from needlewise.services.aftercare_schedule import check_in_answered
from needlewise.services.check_in_flood import RANK, Decision, Flood, Outcome, Recent
from needlewise.services.check_in_models import CheckInOut
from needlewise.services.check_in_presenter import patient_answer, staff_answer
from needlewise.services.check_in_rows import (
    LATEST_SCREENINGS,
    LOCK,
    PATIENTS,
    RECENT,
    SESSIONS,
    Asked,
    check_in_row,
)
from needlewise.services.idempotency import Answer, Claim, Resource
from needlewise.services.outcomes import check_in_pain, check_in_pain_row
from needlewise.services.runtime import Runtime

Refusal = ServiceError | InputError  # returned in place of a check-in that was not stored


@dataclass(frozen=True)
class Written:
    """What one submission came to: the answer for the caller, and the new check-in when
    one was stored by this request (``None`` for a repeat, a refusal or a replay)."""

    answer: Answer
    check_in: CheckInOut | None
    check_in_id: int


_INSERT = insert(CheckIn).returning(CheckIn.id, sort_by_parameter_order=True)
_COUNT = (
    update(CheckIn)
    .where(CheckIn.id == bindparam("target"))
    .values(
        repeat_count=CheckIn.repeat_count + bindparam("repeats"),
        refused_count=CheckIn.refused_count + bindparam("refusals"),
        last_seen_at=bindparam("seen"),
        flagged=True,
    )
)


@dataclass
class _Job:
    """A submission that passed its checks and was triaged."""

    index: int
    asked: Asked
    check_in: dict[str, Any]
    phones: list[str]
    kind: Outcome = "store"
    recent: Recent | None = None  # the stored (or already held) check-in it came to
    retry_after: int | None = None


@dataclass
class _Batch:
    """The state of one batch while it is written."""

    connection: Connection
    now: datetime
    results: dict[int, Written | Refusal] = field(default_factory=dict)
    audits: list[dict[str, Any]] = field(default_factory=list)


def write_check_ins(connection: Connection, asked: list[Asked]) -> list[Written | Refusal]:
    """Write one batch (see the module docstring); one result per submission, in order."""
    batch = _Batch(connection, utcnow())
    todo, same_key = _replays(batch, asked)
    jobs = _triaged(batch, asked, todo)
    _insert_new(batch, jobs)
    check_in_answered(
        connection, [j.asked.session_id for j in jobs if j.kind == "store"], batch.now
    )
    stored = [job.check_in for job in jobs if job.kind == "store"]  # urgent ones alert
    escalation.alert_stored(connection, asked[0].runtime.settings, batch.now, stored)
    _count_repeats(batch, jobs)
    audit.insert_many(connection, [*batch.audits, *map(_audit_entry, jobs)])
    kept: list[tuple[Claim, Answer, Resource]] = []
    for job in jobs:
        written = _written(job)
        batch.results[job.index] = written
        if job.asked.claim is not None and job.kind != "refused":
            resource = Resource("check-in", written.check_in_id, job.asked.patient_id)
            kept.append((job.asked.claim, written.answer, resource))
    idempotency.keep_many(connection, kept)
    for index, first in same_key.items():
        batch.results[index] = _same_key(asked[index], asked[first], batch.results[first])
    return [batch.results[i] for i in range(len(asked))]


def _replays(batch: _Batch, asked: list[Asked]) -> tuple[list[int], dict[int, int]]:
    """Answer the claims whose key was used before. Returns (indexes still to write,
    {index: index of the earlier submission with the same key in this batch})."""
    claims = [a.claim for a in asked if a.claim is not None]
    kept = idempotency.find_many(batch.connection, claims) if claims else {}
    first_with: dict[tuple[str, str], int] = {}
    same_key: dict[int, int] = {}
    todo: list[int] = []
    for index, one in enumerate(asked):
        claim = one.claim
        if claim is None:
            todo.append(index)
            continue
        found = kept.get(claim.ident)
        try:
            answer = idempotency.replayed(found, claim)
        except InputError as exc:
            batch.results[index] = exc
            continue
        if answer is not None and found is not None:
            resource = found.resource
            batch.results[index] = Written(answer, None, int(str(resource.id)))
            batch.audits.append(
                audit.entry(one.actor, "read", resource.type, resource.id, resource.patient_id)
            )
        elif claim.ident in first_with:
            same_key[index] = first_with[claim.ident]
        else:
            first_with[claim.ident] = index
            todo.append(index)
    return todo, same_key


def _same_key(one: Asked, first: Asked, result: Written | Refusal) -> Written | Refusal:
    """A second submission of one key in one batch: the first's answer if the request is
    the same (its refusal too), 422 otherwise."""
    assert one.claim is not None
    assert first.claim is not None
    if one.claim.request_sha256 != first.claim.request_sha256:
        return idempotency.mismatch()
    if isinstance(result, Written):
        return Written(result.answer, None, result.check_in_id)
    return result


def _triaged(batch: _Batch, asked: list[Asked], todo: list[int]) -> list[_Job]:
    """Check and triage the submissions still to write; decide on link submissions."""
    if not todo:
        return []
    connection = batch.connection
    patient_ids = sorted({asked[i].patient_id for i in todo})
    linked = sorted({asked[i].patient_id for i in todo if asked[i].actor.link_id is not None})
    if linked and connection.dialect.name == "postgresql":
        connection.execute(LOCK, {"ids": linked})
    patients = {row.id: row for row in connection.execute(PATIENTS, {"ids": patient_ids})}
    screenings = {
        row.patient_id: row for row in connection.execute(LATEST_SCREENINGS, {"ids": patient_ids})
    }
    session_ids = sorted({s for i in todo if (s := asked[i].session_id) is not None})
    sessions = (
        {row.id: row for row in connection.execute(SESSIONS, {"ids": session_ids})}
        if session_ids
        else {}
    )
    flood = _flood(batch, asked[todo[0]].runtime, linked)
    jobs: list[_Job] = []
    for index in todo:
        one = asked[index]
        patient = patients.get(one.patient_id)
        try:
            row = check_in_row(one, patient, sessions, screenings.get(one.patient_id), batch.now)
        except (ServiceError, InputError) as exc:
            batch.results[index] = exc
            continue
        job = _Job(index, one, row, list(patient.phones or []) if patient is not None else [])
        if one.actor.link_id is not None:
            _decide(batch, flood, job)
        jobs.append(job)
    return jobs


def _flood(batch: _Batch, runtime: Runtime, linked: list[int]) -> Flood:
    settings = runtime.settings
    window = timedelta(minutes=settings.check_in_window_minutes)
    flood = Flood(batch.now, window, settings.check_in_link_limit, settings.check_in_patient_limit)
    if linked:
        since = batch.now - window
        for row in batch.connection.execute(RECENT, {"ids": linked, "since": since}):
            flood.add(
                row.patient_id,
                Recent(
                    link=row.created_by,
                    digest=row.answers_sha256,
                    rank=RANK.get(row.disposition, 0),
                    acknowledged=row.acknowledged_at is not None,
                    created_at=row.created_at,
                    id=row.id,
                ),
            )
    return flood


def _decide(batch: _Batch, flood: Flood, job: _Job) -> None:
    """Apply the flood policy to a patient-link submission."""
    actor, row = job.asked.actor, job.check_in
    decision: Decision = flood.decide(
        row["patient_id"], actor.ref, row["answers_sha256"], row["disposition"]
    )
    job.kind = decision.kind
    if decision.kind == "store":
        row["flagged"] = decision.flagged
        job.recent = Recent(
            link=actor.ref,
            digest=row["answers_sha256"],
            rank=RANK[row["disposition"]],
            acknowledged=False,
            created_at=row["created_at"],
            row=row,
        )
        flood.add(row["patient_id"], job.recent)
        return
    assert decision.target is not None
    job.recent = decision.target
    job.retry_after = decision.retry_after
    decision.target.count(decision.kind, batch.now)


def _audit_entry(job: _Job) -> dict[str, Any]:
    """The audit entry of a submission: a create, a repeat, or a refused create (naming
    the check-in the clinic already has)."""
    actor, patient_id = job.asked.actor, job.asked.patient_id
    if job.kind == "store":
        return audit.entry(actor, "create", "check-in", job.check_in["id"], patient_id)
    assert job.recent is not None
    if job.kind == "repeat":
        return audit.entry(actor, "repeat", "check-in", job.recent.id, patient_id)
    return audit.entry(actor, "create", "check-in", job.recent.id, patient_id, "refused")


def _insert_new(batch: _Batch, jobs: list[_Job]) -> None:
    """Insert the new check-ins (with the counts their batch-mates added) and fill in
    their ids."""
    new = [job for job in jobs if job.kind == "store"]
    if not new:
        return
    for job in new:
        recent = job.recent
        if recent is not None and (recent.repeats or recent.refusals):
            job.check_in.update(
                repeat_count=recent.repeats,
                refused_count=recent.refusals,
                last_seen_at=recent.last_seen,
                flagged=True,
            )
    ids = batch.connection.execute(_INSERT, [job.check_in for job in new]).scalars().all()
    for job, new_id in zip(new, ids, strict=True):
        job.check_in["id"] = new_id
        if job.recent is not None:
            job.recent.id = new_id
    pains = [(job, check_in_pain(job.asked.document)) for job in new]
    rows = [
        check_in_pain_row(
            job.asked.runtime.kb,
            patient_id=job.asked.patient_id,
            check_in_id=job.check_in["id"],
            session_id=job.check_in["session_id"],
            pain=pain,
            recorded_at=batch.now,
            created_by=job.asked.actor.ref,
        )
        for job, pain in pains
        if pain is not None
    ]
    if rows:  # the check-in's NPRS, in the same transaction (services/outcomes.py)
        returning = insert(OutcomeScore).returning(OutcomeScore.id, sort_by_parameter_order=True)
        made = batch.connection.execute(returning, rows).scalars().all()
        actors = [job.asked.actor for job, pain in pains if pain is not None]
        for actor, row, score_id in zip(actors, rows, made, strict=True):
            batch.audits.append(
                audit.entry(actor, "create", "outcome-score", score_id, row["patient_id"])
            )


def _count_repeats(batch: _Batch, jobs: list[_Job]) -> None:
    """Add the repeats and refusals of this batch to check-ins stored before it."""
    targets = {
        id(job.recent): job.recent
        for job in jobs
        if job.kind != "store" and job.recent is not None and job.recent.row is None
    }
    counts = [
        {
            "target": recent.id,
            "repeats": recent.repeats,
            "refusals": recent.refusals,
            "seen": recent.last_seen,
        }
        for recent in targets.values()
    ]
    if counts:
        batch.connection.execute(_COUNT, counts)


def _written(job: _Job) -> Written:
    """The answer for one submission (a new check-in, a repeat or a refusal)."""
    actor, row = job.asked.actor, job.check_in
    if actor.link_id is None:
        out = CheckInOut.model_validate(row)
        return Written(staff_answer(out), out, out.id)
    assert job.recent is not None
    assert job.recent.id is not None
    target = job.recent.id
    answer = patient_answer(
        job.asked.runtime.kb, row, target, job.phones, job.kind, job.retry_after
    )
    stored = CheckInOut.model_validate(row) if job.kind == "store" else None
    return Written(answer, stored, target)
