"""Tamper evidence of the audit log (issue 9, finding 3), on SQLite and on PostgreSQL.

* each entry carries a hash chained to the previous one: ``needlewise audit verify``
  accepts an intact log and names the first broken entry of one changed behind the
  database's back (the append-only trigger disabled on PostgreSQL, dropped from the file
  on SQLite), or with an entry removed, and exits 3; an anchor taken earlier catches a
  tail rewritten with freshly computed hashes;
* ``TRUNCATE`` of the audit table is refused on PostgreSQL (on SQLite, which has no
  TRUNCATE, a DELETE of every row is refused);
* the chain stays whole under concurrent writers (two "processes" each with their own
  connection pool and group commit, check-ins in batches and single audited writes);
* the migration chains and scopes the entries an existing database already holds, and
  new entries chain on to them.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from needlewise.persistence.db import Database, is_sqlite, make_engine, sqlite_path
from needlewise.persistence.migrate import config, downgrade, upgrade
from needlewise.persistence.models import AuditEntry
from needlewise.persistence.models.base import UtcDateTime
from needlewise.security.roles import Role
from needlewise.services import audit, check_ins
from needlewise.services.actor import Actor
from support import postgres
from support.audit import busy_log, cli, entries_after, last_id, url_of, verify
from support.service import Service
from support.treatment import make_patient

MIGRATION = "0005"  # the migration that chains and scopes the audit log
CHECK_IN = {"symptoms": [], "hours_since_treatment": 20.0}


def change_behind_the_databases_back(url: str, sql: str, **params: Any) -> None:
    """Run ``sql`` with the append-only trigger out of the way, as an attacker with the
    database owner's rights (PostgreSQL) or write access to the file (SQLite) could."""
    path = sqlite_path(url)
    if path is not None:
        file = sqlite3.connect(path)
        try:
            file.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
            file.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
            file.execute(sql, params)
            file.commit()
        finally:
            file.close()
        return
    engine = make_engine(url, pool=False)
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
            connection.execute(text(sql), params)
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change"))
    finally:
        engine.dispose()


# ------------------------------------------------------------------ tamper evidence


def test_an_intact_log_verifies(service: Service) -> None:
    busy_log(service)
    code, report = verify(url_of(service))
    assert code == 0, report
    assert report["ok"] is True
    assert report["entries"] == last_id(service)
    assert report["first_broken"] is None
    assert len(report["head"]["hash"]) == 64


def test_a_changed_entry_is_found_by_audit_verify(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    victim = last_id(service) - 2
    change_behind_the_databases_back(
        url, "UPDATE audit_log SET actor = 'user:999' WHERE id = :id", id=victim
    )
    code, report = verify(url)
    assert code == 3, report
    assert report["ok"] is False
    assert report["first_broken"]["id"] == victim
    assert report["broken"] == [victim]  # the entries after it still chain to its hash

    text_result = cli(url, "verify")
    assert text_result.exit_code == 3
    assert f"entry {victim}" in text_result.output


def test_a_removed_entry_is_found_by_audit_verify(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    gone = last_id(service) - 3
    change_behind_the_databases_back(url, "DELETE FROM audit_log WHERE id = :id", id=gone)
    code, report = verify(url)
    assert code == 3, report
    assert report["first_broken"]["id"] == gone + 1  # the entry that chained to it


def test_an_anchor_catches_a_rewritten_tail(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    code, report = verify(url)
    assert code == 0
    anchor = f"{report['head']['id']}:{report['head']['hash']}"
    victim = report["head"]["id"] - 1

    # an attacker who knows the format rewrites one entry and every hash after it
    from needlewise.persistence import audit_chain  # (imported here: new in issue 9)

    engine = make_engine(url, pool=False)
    with engine.connect() as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(
                select(AuditEntry.__table__).order_by(AuditEntry.__table__.c.id)
            )
        ]
    engine.dispose()
    by_id = {row["id"]: row for row in rows}
    prev = by_id[victim - 1]["hash"]
    for row in (r for r in rows if r["id"] >= victim):
        if row["id"] == victim:
            row["actor"] = "user:999"
        row["hash"] = audit_chain.chain_hash(row, prev)
        prev = row["hash"]
        change_behind_the_databases_back(
            url,
            "UPDATE audit_log SET actor = :actor, hash = :hash WHERE id = :id",
            actor=row["actor"],
            hash=row["hash"],
            id=row["id"],
        )
    plain, _ = verify(url)
    assert plain == 0  # a chain without a secret can be rewritten whole ...
    anchored, report = verify(url, "--anchor", anchor)
    assert anchored == 3, report  # ... but not past an anchor kept elsewhere
    assert report["first_broken"]["id"] == report["head"]["id"]


def test_audit_verify_refuses_a_bad_anchor(service: Service) -> None:
    result = cli(url_of(service), "verify", "--anchor", "twelve")
    assert result.exit_code == 2
    assert "--anchor" in result.stderr
    assert "Traceback" not in result.output


def test_truncate_is_refused(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    statement = "DELETE FROM audit_log" if is_sqlite(url) else "TRUNCATE audit_log"
    engine = make_engine(url, pool=False)
    try:
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
    assert last_id(service) > 0
    assert verify(url)[0] == 0


def test_the_chain_holds_under_concurrent_writers(service: Service) -> None:
    """Two app "processes" (each its own pool and group commit) write at once: check-ins
    in batches and single audited writes. Every entry lands, in one unbroken chain."""
    url = url_of(service)
    patients = [make_patient(service, f"Conc{i}") for i in range(2)]
    second = replace(service.runtime, db=Database(url))
    runtimes = [service.runtime, second]
    actor = service.actor(Role.front_desk)
    before = last_id(service)
    errors: list[BaseException] = []
    per_thread = 12

    def check_ins_of(runtime: Any, patient: int) -> None:
        try:
            for _ in range(per_thread):
                check_ins.record_check_in(runtime, actor, patient, CHECK_IN)
        except BaseException as exc:
            errors.append(exc)

    def reads_of(runtime: Any, patient: int) -> None:
        try:
            for _ in range(per_thread):
                audit.record_reads(runtime.db, actor, "patient", [(patient, patient)])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(runtime, patient))
        for runtime in runtimes
        for patient in patients
        for work in (check_ins_of, check_ins_of, reads_of)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    second.db.dispose()
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    written = entries_after(service, before)
    assert len(written) == len(threads) * per_thread
    code, report = verify(url)
    assert code == 0, report


# ------------------------------------------------------------------ existing databases


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    if is_sqlite(database_url):
        yield f"sqlite:///{tmp_path / 'older.sqlite'}"
        return
    base = database_url.rsplit("/", 1)[0]
    name = f"nw_a_{uuid.uuid4().hex[:12]}"
    with postgres.admin(base) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield f"{base}/{name}"
    with postgres.admin(base) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_migration_chains_and_scopes_existing_entries(empty_url: str) -> None:
    scripts = ScriptDirectory.from_config(config(empty_url))
    older = scripts.get_revision(MIGRATION).down_revision
    assert isinstance(older, str)
    upgrade(empty_url, older)

    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now, "version": 1}

    def stamped() -> tuple[sa.ColumnClause[Any], ...]:
        return (
            sa.column("created_at", UtcDateTime()),
            sa.column("updated_at", UtcDateTime()),
            sa.column("version"),
        )

    clinics = sa.table(
        "clinics",
        sa.column("id"),
        sa.column("name"),
        sa.column("phones", sa.JSON()),
        sa.column("languages", sa.JSON()),
        *stamped(),
    )
    users = sa.table(
        "users",
        *(
            sa.column(c)
            for c in ("id", "clinic_id", "email", "name", "role", "password_hash", "active")
        ),
        *stamped(),
    )
    patients = sa.table(
        "patients",
        *(
            sa.column(c)
            for c in ("id", "clinic_id", "given_name", "family_name", "preferred_language")
        ),
        *stamped(),
    )
    links = sa.table(
        "patient_links",
        *(sa.column(c) for c in ("id", "patient_id", "purpose", "created_by")),
        sa.column("created_at", UtcDateTime()),
        sa.column("expires_at", UtcDateTime()),
    )
    log = sa.table(
        "audit_log",
        sa.column("at", UtcDateTime()),
        *(
            sa.column(c)
            for c in (
                "actor",
                "action",
                "resource_type",
                "resource_id",
                "patient_id",
                "remote",
                "outcome",
            )
        ),
    )
    engine = make_engine(empty_url, pool=False)
    with engine.begin() as connection:
        for clinic in (1, 2):
            connection.execute(
                clinics.insert().values(
                    id=clinic, name=f"C{clinic}", phones=[], languages=["en"], **stamps
                )
            )
        connection.execute(
            users.insert().values(
                id=7,
                clinic_id=2,
                email="u@x.example",
                name="U",
                role="admin",
                password_hash="x",
                active=True,
                **stamps,
            )
        )
        connection.execute(
            patients.insert().values(
                id=3,
                clinic_id=2,
                given_name="P",
                family_name="Q",
                preferred_language="en",
                **stamps,
            )
        )
        connection.execute(
            links.insert().values(
                id=5,
                patient_id=3,
                purpose="check-in",
                created_by="user:7",
                created_at=now,
                expires_at=now,
            )
        )
        old = [
            ("user:7", "read", "patient", "3", 3),
            ("link:5", "create", "check-in", "11", 3),
            ("system", "create", "clinic", "1", None),
            ("system", "create", "patient", "3", 3),
            ("anonymous", "login", "session", None, None),
            ("user:404", "read", "patient", "3", 3),
        ]
        for i, (actor, action, kind, resource, patient) in enumerate(old):
            connection.execute(
                log.insert().values(
                    at=now + timedelta(microseconds=i),
                    actor=actor,
                    action=action,
                    resource_type=kind,
                    resource_id=resource,
                    patient_id=patient,
                    remote="127.0.0.1",
                    outcome="ok",
                )
            )
    engine.dispose()

    upgrade(empty_url)
    code, report = verify(empty_url)
    assert code == 0, report
    assert report["entries"] == len(old)
    db = Database(empty_url, pool=False)
    with db.read() as session:
        scoped = session.execute(
            select(AuditEntry.actor, AuditEntry.clinic_id).order_by(AuditEntry.id)
        )
        assert [tuple(row) for row in scoped] == [
            ("user:7", 2),  # the user's clinic
            ("link:5", 2),  # the link's patient's clinic
            ("system", 1),  # the clinic it created
            ("system", 2),  # the patient's clinic
            ("anonymous", None),  # no clinic: operators only
            ("user:404", 2),  # an unknown user: the patient's clinic
        ]
    # new entries chain on to the migrated ones
    audit.record_reads(db, Actor(ref="user:7", clinic_id=2), "patient", [(3, 3)])
    db.dispose()
    code, report = verify(empty_url)
    assert (code, report["entries"]) == (0, len(old) + 1)

    # down again: the older code's inserts (ids from the table's own sequence) still
    # work, and the next upgrade chains them with the rest
    downgrade(empty_url, older)
    engine = make_engine(empty_url, pool=False)
    with engine.begin() as connection:
        connection.execute(
            log.insert().values(
                at=now, actor="user:7", action="read", resource_type="patient",
                resource_id="3", patient_id=3, remote="127.0.0.1", outcome="ok",
            )
        )  # fmt: skip
    engine.dispose()
    upgrade(empty_url)
    code, report = verify(empty_url)
    assert (code, report["entries"]) == (0, len(old) + 2)
