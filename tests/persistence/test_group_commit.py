"""Group commit on both databases: jobs queued together share one transaction; a refused
job fails alone; a write that fails rolls the batch back and the other jobs are committed
once each on their own; a caller hears back only after the commit; closing finishes the
queue; a writer may refuse one job without failing the others. The rows are real audit entries and check-ins, read back with a fresh connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from needlewise.errors import InputError, NotFound
from needlewise.persistence.db import Database, utcnow
from needlewise.persistence.group_commit import Writer
from needlewise.persistence.models import AuditEntry, CheckIn, Clinic, Patient
from needlewise.security.roles import Role
from needlewise.services import audit, check_in_rows, check_in_writer
from needlewise.services.actor import Actor
from support.service import Service
from support.treatment import make_patient, ready_patient, session_body

ACTOR = Actor(ref="system", role=Role.admin)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def write_entries(connection: Connection, plans: list[str]) -> list[str]:
    """A writer: one audit entry per plan (its resource id), one statement for all."""
    audit.insert_many(connection, [audit.entry(ACTOR, "test", "job", plan, None) for plan in plans])
    return plans


def write_check_ins(connection: Connection, plans: list[int]) -> list[int]:
    """A writer whose rows the database itself may refuse (a patient id that does not
    exist breaks the foreign key). Minimal rows on purpose: the group committer under
    test sits below the services, and only the foreign key matters here."""
    rows: list[dict[str, Any]] = [
        {
            "patient_id": patient_id,
            "session_id": None,
            "answers": {},
            "result": {},
            "disposition": "self-care",
            "knowledge_version": "test",
            "knowledge_sha256": "0" * 64,
            "created_by": "system",
            "created_at": utcnow(),
            "version": 1,
        }
        for patient_id in plans
    ]
    connection.execute(insert(CheckIn), rows)
    return plans


def entries(db: Database) -> list[str]:
    """Resource ids of the committed test entries, as a new connection sees them."""
    with db.engine.connect() as connection:
        found = connection.execute(
            select(AuditEntry.resource_id).where(AuditEntry.action == "test")
        ).scalars()
        return sorted(str(value) for value in found)


class Gate:
    """A first job that holds the writer until the test has queued the rest."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def write(self, connection: Connection, plans: list[str]) -> list[str]:
        self.started.set()
        assert self.release.wait(30), "the test never released the gate"
        return write_entries(connection, plans)


def queued_behind_gate(
    db: Database, jobs: Sequence[tuple[object, Writer[Any, Any]]]
) -> list[Future[Any]]:
    """Submit a gate job, then ``jobs`` while it holds the writer, so that they all land
    in the next batch; returns their futures (the gate's first)."""
    gate = Gate()
    futures = [db.group.submit("gate", gate.write)]
    assert gate.started.wait(30)
    futures += [db.group.submit(plan, write) for plan, write in jobs]
    gate.release.set()
    for future in futures:
        future.exception(timeout=30)  # wait for each, whatever the outcome
    return futures


def test_jobs_queued_together_share_one_commit(db: Database) -> None:
    before = db.group.batches
    futures = queued_behind_gate(db, [(f"job-{i:02d}", write_entries) for i in range(20)])
    assert [f.result() for f in futures] == ["gate"] + [f"job-{i:02d}" for i in range(20)]
    assert db.group.batches - before == 2  # the gate alone, then all twenty together
    assert entries(db) == sorted(["gate"] + [f"job-{i:02d}" for i in range(20)])


def test_a_lone_job_is_committed_when_its_call_returns(db: Database) -> None:
    assert db.group.run("alone", write_entries) == "alone"
    assert entries(db) == ["alone"]  # already visible to another connection


def test_a_refused_job_fails_alone_and_the_batch_commits(db: Database) -> None:
    def refusing(connection: Connection, plans: list[str]) -> list[str | NotFound]:
        """Writes every plan but "refuse", which it refuses without writing."""
        write_entries(connection, [p for p in plans if p != "refuse"])
        return [NotFound("no patient 7") if p == "refuse" else p for p in plans]

    jobs = [("a", refusing), ("refuse", refusing), ("b", refusing)]
    before = db.group.batches
    futures = queued_behind_gate(db, jobs)
    assert futures[1].result() == "a"
    assert futures[3].result() == "b"
    with pytest.raises(NotFound, match="no patient 7"):
        futures[2].result()
    assert db.group.batches - before == 2  # no job had to be run again on its own
    assert entries(db) == ["a", "b", "gate"]


def test_a_failed_write_rolls_back_and_the_others_commit_once(db: Database) -> None:
    with db.write() as session:  # a real patient for the good rows (a bare Database: no services)
        clinic = Clinic(name="Synthetic Clinic")
        session.add(clinic)
        session.flush()
        record = Patient(clinic_id=clinic.id, given_name="Test", family_name="Synthetic")
        session.add(record)
        session.flush()
        patient = record.id
    jobs: list[tuple[object, Writer[Any, Any]]] = [
        (patient, write_check_ins),
        (999_999, write_check_ins),  # no such patient: the foreign key refuses it
        (patient, write_check_ins),
        ("after", write_entries),
    ]
    futures = queued_behind_gate(db, jobs)
    assert futures[1].result() == patient
    assert futures[3].result() == patient
    assert futures[4].result() == "after"
    with pytest.raises(IntegrityError):
        futures[2].result()
    with db.engine.connect() as connection:
        rows = connection.execute(select(CheckIn.patient_id)).scalars().all()
    assert rows == [patient, patient]  # each good row once; nothing of the failed batch
    assert entries(db) == ["after", "gate"]


def test_a_database_error_fails_that_job_only(db: Database) -> None:
    def broken(connection: Connection, _plans: list[str]) -> list[str]:
        connection.execute(text("SELECT no_such_column FROM audit_log"))
        return ["never"]

    futures = queued_behind_gate(db, [("x", write_entries), ("y", broken)])
    assert futures[1].result() == "x"
    with pytest.raises(DBAPIError):
        futures[2].result()
    assert entries(db) == ["gate", "x"]  # the failed batch rolled back, "x" committed once


def test_a_writer_returning_too_few_results_fails_its_jobs(db: Database) -> None:
    def short(connection: Connection, plans: list[str]) -> list[str]:
        write_entries(connection, plans)
        return plans[:-1]

    futures = queued_behind_gate(db, [("p", short), ("q", short)])
    for future in futures[1:]:
        with pytest.raises(RuntimeError, match="returned 0 results for 1 jobs"):
            future.result()
    assert entries(db) == ["gate"]  # run alone, each returned nothing: rolled back too


def test_close_finishes_the_queue_and_a_later_job_starts_again(db: Database) -> None:
    futures = [db.group.submit(f"q{i}", write_entries) for i in range(10)]
    db.group.close()
    assert all(f.done() for f in futures)
    assert db.group.run("again", write_entries) == "again"
    assert entries(db) == sorted([f"q{i}" for i in range(10)] + ["again"])


def test_async_callers_wait_without_a_worker_thread(db: Database) -> None:
    async def many() -> list[str]:
        return list(
            await asyncio.gather(
                *(db.group.run_async(f"a{i:02d}", write_entries) for i in range(32))
            )
        )

    assert asyncio.run(many()) == [f"a{i:02d}" for i in range(32)]
    assert entries(db) == [f"a{i:02d}" for i in range(32)]


def test_check_ins_of_one_batch_are_checked_one_by_one(service: Service) -> None:
    """The real check-in writer: one batch holding a good check-in, one for a patient of
    no clinic of ours, one naming another patient's session and one that cannot be
    triaged. Only the good ones are stored, each with its audit entry."""
    runtime = service.runtime
    staff = service.actor(Role.front_desk)
    alice = make_patient(service, "Alice")
    bob, bobs_session = treated(service)
    good = {"symptoms": ["symptom.soreness"], "language": "en"}
    asked = [
        (alice, good, None),
        (999_999, good, None),
        (alice, good, bobs_session),
        (alice, {"symptoms": "not a list"}, None),
        (bob, good, bobs_session),
    ]
    jobs = [
        (
            check_in_rows.Asked(runtime, staff, patient, document, session),
            check_in_writer.write_check_ins,
        )
        for patient, document, session in asked
    ]
    futures = queued_behind_gate(runtime.db, jobs)
    stored = [futures[1].result().check_in, futures[5].result().check_in]
    assert stored[0] is not None
    assert stored[1] is not None
    assert [(s.patient_id, s.session_id) for s in stored] == [(alice, None), (bob, bobs_session)]
    assert stored[1].result["hours_source"] == "session"
    with pytest.raises(NotFound, match="no patient 999999"):
        futures[2].result()
    with pytest.raises(InputError) as wrong_session:
        futures[3].result()
    assert wrong_session.value.where == "session_id"
    with pytest.raises(InputError):
        futures[4].result()
    with runtime.db.engine.connect() as connection:
        rows = connection.execute(select(CheckIn.id, CheckIn.patient_id)).all()
        audited = connection.execute(
            select(AuditEntry.resource_id).where(
                AuditEntry.action == "create", AuditEntry.resource_type == "check-in"
            )
        ).scalars()
        assert sorted(str(row.id) for row in rows) == sorted(str(entry) for entry in audited)
    assert sorted(row.patient_id for row in rows) == sorted([alice, bob])
    assert [s.id for s in stored] == sorted(row.id for row in rows)


def treated(service: Service) -> tuple[int, int]:
    """(patient, session): a screened, consented patient treated two hours ago."""
    patient, provider = ready_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    session_id: int = response.json()["id"]
    return patient, session_id


def test_a_job_that_stops_its_thread_fails_and_the_writer_goes_on(db: Database) -> None:
    """Even an exception that is not an ``Exception`` (here ``SystemExit`` raised by a
    writer) fails only its batch: the caller hears of it and later jobs still run."""

    def exits(_connection: Connection, _plans: list[str]) -> list[str]:
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        db.group.submit("x", exits).result(timeout=30)  # a timeout, not a hang
    assert db.group.submit("after", write_entries).result(timeout=30) == "after"
    assert entries(db) == ["after"]
