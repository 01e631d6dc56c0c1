"""``needlewise backup`` and ``needlewise restore`` on SQLite and PostgreSQL.

Each test that takes ``database_url`` runs on both backends, on a fresh migrated database;
``fresh_url`` is a second, empty database on the same backend to restore into (a new
SQLite file; a new PostgreSQL database). Records are synthetic and written through the
ORM. Backups are taken while another connection holds an open write transaction, or while
a writer commits in a loop; the restore must hold exactly what was committed when the
backup started.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.engine import make_url

from needlewise.cli import main
from needlewise.config import Settings
from needlewise.persistence.backup import BackupError, backup, restore
from needlewise.persistence.db import Database, is_sqlite
from needlewise.persistence.migrate import current, downgrade, head, upgrade
from needlewise.persistence.models import AuditEntry, Clinic, Patient
from support import postgres
from support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("needlewise")  # the console script of this venv


# ---------------------------------------------------------------- helpers


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend as ``database_url``."""
    if is_sqlite(database_url):
        yield f"sqlite:///{tmp_path / 'restored' / 'needlewise.sqlite'}"
        return
    base = database_url.rsplit("/", 1)[0]
    with created_database(base) as url:
        yield url


class created_database:
    """A new, empty PostgreSQL database on the server at ``base``; dropped afterwards."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.name = f"nw_r_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> str:
        with postgres.admin(self.base) as connection:
            connection.execute(f"CREATE DATABASE {self.name}")
        return f"{self.base}/{self.name}"

    def __exit__(self, *_exc: object) -> None:
        with postgres.admin(self.base) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def seed(db: Database, *given_names: str) -> int:
    """A synthetic clinic with one patient per name; returns the clinic id.

    These tests work below the services, on a bare ``Database``: their rows go straight
    through the ORM, since what they need is exact transactions (a write held open while
    a backup runs; a patient and its audit entry in one commit), not the use cases."""
    with db.write() as session:
        clinic = Clinic(name="Synthetic Backup Clinic", phones=["555-0100"], languages=["en"])
        session.add(clinic)
        session.flush()
        for name in given_names:
            session.add(Patient(clinic_id=clinic.id, given_name=name, family_name="Example"))
        return clinic.id


def add_patient(db: Database, clinic_id: int, given_name: str) -> None:
    with db.write() as session:
        session.add(Patient(clinic_id=clinic_id, given_name=given_name, family_name="Example"))


def patient_names(url: str) -> set[str]:
    db = Database(url, pool=False)
    try:
        with db.read() as session:
            return set(session.scalars(select(Patient.given_name)))
    finally:
        db.dispose()


def revision_of(url: str) -> str | None:
    db = Database(url, pool=False)
    try:
        return current(db.engine)
    finally:
        db.dispose()


def cli(url: str, *args: str, stdin: str | None = None) -> Result:
    """``needlewise ARGS`` on ``url``, in-process (the settings go to the CLI as ``obj``)."""
    settings = Settings(database_url=url)
    return CliRunner().invoke(main, list(args), input=stdin, obj=settings, catch_exceptions=False)


def assert_refused(result: Result, *expected: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("needlewise: "), lines[0]
    for part in expected:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def not_needlewise_sqlite(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.commit()
    con.close()
    return path


# ---------------------------------------------------------------- round trips


def test_backup_during_open_write_transaction_restores_exactly_the_committed_rows(
    database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    clinic_id = seed(db, "Ada", "Ben")
    dest = tmp_path / "backup.nw"
    with db.write() as session:  # another connection holds an open write transaction
        session.add(Patient(clinic_id=clinic_id, given_name="Uncommitted", family_name="X"))
        session.flush()
        info = backup(database_url, dest)
    add_patient(db, clinic_id, "Later")
    db.dispose()

    assert info.path == dest
    assert dest.is_file()
    assert info.bytes == dest.stat().st_size > 0
    assert info.schema.revision == head()
    assert info.schema.newest
    assert dest.stat().st_mode & 0o777 == 0o600  # patient data: private to the owner
    assert not list(tmp_path.glob(".backup.nw.*"))  # no temporary file left behind
    assert patient_names(database_url) == {"Ada", "Ben", "Uncommitted", "Later"}

    restored = restore(fresh_url, dest)
    assert restored.schema.revision == head()
    assert patient_names(fresh_url) == {"Ada", "Ben"}
    assert revision_of(fresh_url) == head()


def test_backup_during_a_burst_of_writes_is_one_consistent_snapshot(
    database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    """Each write adds a patient and its audit entry in one transaction: a consistent
    snapshot holds both or neither, however the copy interleaves with the writer."""
    db = Database(database_url)
    clinic_id = seed(db, *[f"Bulk{i}" for i in range(300)])  # many pages: many copy steps
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        while not stop.is_set():
            with db.write() as session:
                patient = Patient(
                    clinic_id=clinic_id, given_name=f"Burst{len(written)}", family_name="W"
                )
                session.add(patient)
                session.flush()
                session.add(
                    AuditEntry(
                        actor="system",
                        action="create",
                        resource_type="patient",
                        resource_id=str(patient.id),
                        patient_id=patient.id,
                    )
                )
            written.append(patient.id)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_until(lambda: len(written) >= 5, "the writer's first 5 commits")
        before = len(written)
        backup(database_url, tmp_path / "burst.nw", step_pages=1)
        during = len(written)
        wait_until(lambda: len(written) >= during + 5, "5 more commits after the backup")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive(), "the writer did not stop within 60 s of being told to"
    db.dispose()

    restore(fresh_url, tmp_path / "burst.nw")
    restored = Database(fresh_url, pool=False)
    with restored.read() as session:
        burst = set(session.scalars(select(Patient.id).where(Patient.given_name.like("Burst%"))))
        audited = set(
            session.scalars(select(AuditEntry.patient_id).where(AuditEntry.actor == "system"))
        )
        bulk = session.scalar(select(Patient.id).where(Patient.given_name == "Bulk299"))
    restored.dispose()
    assert bulk is not None
    assert burst == audited  # both halves of every write, or neither
    assert before <= len(burst) <= during + 1  # +1: a commit not yet counted by the writer
    assert burst == set(written[: len(burst)])  # a prefix of the commits: nothing skipped


def test_cli_backup_and_restore(database_url: str, fresh_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    seed(db, "Ada")
    db.dispose()
    dest = tmp_path / "cli.nw"
    if not is_sqlite(database_url):  # the test server trusts loopback: a password is ignored
        database_url = make_url(database_url).set(password="s3cret-pass").render_as_string(False)

    result = cli(database_url, "backup", str(dest))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Backed up ")
    assert f"to {dest}: " in result.stdout
    assert f"schema revision {head()} (newest)" in result.stdout
    assert "s3cret" not in result.output  # the URL is shown with its password hidden

    assert_refused(cli(database_url, "backup", str(dest)), "already exists", "--force")
    # renaming the backup onto a device would replace the device for the whole machine
    device = os.stat(os.devnull)
    refused = cli(database_url, "backup", "--force", os.devnull)
    assert_refused(refused, "is not a regular file")
    assert os.stat(os.devnull).st_ino == device.st_ino
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    replaced = cli(database_url, "backup", "--force", "--json", str(dest))
    assert replaced.exit_code == 0, replaced.output
    made = json.loads(replaced.stdout)
    assert made["path"] == str(dest)
    assert made["bytes"] == dest.stat().st_size
    assert made["revision"] == head()
    assert made["newest"] is True
    assert made["backend"] == ("sqlite" if is_sqlite(database_url) else "postgresql")

    declined = cli(fresh_url, "restore", str(dest), stdin="n\n")
    assert declined.exit_code == 1
    assert "nothing was changed" in declined.stderr
    assert "Replace everything in" in declined.stderr  # the question names the database

    result = cli(fresh_url, "restore", "--json", "--yes", str(dest))
    assert result.exit_code == 0, result.output
    restored = json.loads(result.stdout)
    assert restored["revision"] == head()
    assert restored["upgrade_needed"] is False
    assert patient_names(fresh_url) == {"Ada"}

    result = cli(fresh_url, "db", "current")
    assert result.exit_code == 0
    assert f"schema revision {head()} (newest)" in result.stdout


def test_script_backup_during_a_write_then_restore(
    database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    """The installed console script, in a subprocess, while this process holds a write."""
    db = Database(database_url)
    clinic_id = seed(db, "Ada")
    dest = tmp_path / "script.nw"
    with db.write() as session:
        session.add(Patient(clinic_id=clinic_id, given_name="Uncommitted", family_name="X"))
        session.flush()
        made = run_script(database_url, "backup", str(dest))
    db.dispose()
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Backed up ")
    assert "Traceback" not in made.stderr

    put = run_script(fresh_url, "restore", "--yes", str(dest))
    assert put.returncode == 0, put.stderr
    assert f"Restored {dest} into " in put.stdout
    assert "needlewise can start." in put.stdout
    assert patient_names(fresh_url) == {"Ada"}


def run_script(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEEDLEWISE_DATABASE_URL": url}
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- refusals


def test_restore_refuses_a_file_that_is_not_a_database(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    seed(db, "Ada")
    db.dispose()
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup\n", encoding="utf-8")
    expected = (
        "is not a SQLite database"
        if is_sqlite(database_url)
        else "is not a PostgreSQL custom-format dump"
    )
    assert_refused(cli(database_url, "restore", "--yes", str(junk)), str(junk), expected)
    assert_refused(
        cli(database_url, "restore", "--yes", str(tmp_path / "missing.nw")),
        "cannot read the file",
    )
    assert_refused(cli(database_url, "restore", "--yes", str(tmp_path)), "is a folder")
    assert patient_names(database_url) == {"Ada"}  # nothing changed


def test_restore_refuses_a_sqlite_file_without_the_needlewise_schema(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    seed(db, "Ada")
    db.dispose()
    other = not_needlewise_sqlite(tmp_path / "other.sqlite")
    expected = (
        "holds no needlewise schema"
        if is_sqlite(database_url)
        else "is a SQLite database, but the database is PostgreSQL"
    )
    # without --yes: refused before any question is asked
    assert_refused(cli(database_url, "restore", str(other)), str(other), expected)
    assert patient_names(database_url) == {"Ada"}


def test_restore_refuses_while_the_database_is_in_use(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    clinic_id = seed(db, "Ada")
    dest = tmp_path / "in-use.nw"
    backup(database_url, dest)
    add_patient(db, clinic_id, "Later")
    with db.read() as session:  # like a running server: a pooled connection stays open
        session.execute(select(Patient.id)).all()
    try:
        line = assert_refused(cli(database_url, "restore", "--yes", str(dest)))
        assert "stop every needlewise process" in line
    finally:
        db.dispose()
    assert patient_names(database_url) == {"Ada", "Later"}
    # once every connection is closed, the same restore goes through
    result = cli(database_url, "restore", "--yes", str(dest))
    assert result.exit_code == 0, result.output
    assert patient_names(database_url) == {"Ada"}


def test_backup_refuses_a_missing_folder_and_a_folder(database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "b.nw"
    assert_refused(cli(database_url, "backup", str(target)), "does not exist")
    assert_refused(cli(database_url, "backup", str(tmp_path)), "is a folder")
    assert not target.parent.exists()


# ---------------------------------------------------------------- SQLite specifics


def test_sqlite_backup_is_one_self_contained_file(tmp_path: Path, sqlite_template: Path) -> None:
    source = tmp_path / "live.sqlite"
    source.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{source}"
    db = Database(url)
    seed(db, "Ada")
    dest = tmp_path / "copy.sqlite"
    backup(url, dest)
    db.dispose()
    header = dest.read_bytes()[:100]
    assert header[:16] == b"SQLite format 3\x00"
    assert header[18:20] == b"\x01\x01"  # rollback journal, not WAL: no -wal file needed
    assert not dest.with_name("copy.sqlite-wal").exists()
    con = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT given_name FROM patients").fetchall() == [("Ada",)]
    con.close()


def test_sqlite_restore_refuses_a_revision_this_version_does_not_know(
    tmp_path: Path, sqlite_template: Path
) -> None:
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(sqlite_template.read_bytes())
    con = sqlite3.connect(newer)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    url = f"sqlite:///{tmp_path / 'target.sqlite'}"
    assert_refused(cli(url, "restore", "--yes", str(newer)), "9999", "does not know")
    assert not (tmp_path / "target.sqlite").exists()


def test_sqlite_restore_of_an_older_backup_says_upgrade(
    tmp_path: Path, sqlite_template: Path
) -> None:
    older = tmp_path / "older.sqlite"
    older.write_bytes(sqlite_template.read_bytes())
    downgrade(f"sqlite:///{older}", "-1")
    url = f"sqlite:///{tmp_path / 'target.sqlite'}"
    result = cli(url, "restore", "--yes", str(older))
    assert result.exit_code == 0, result.output
    assert "Run `needlewise db upgrade` before starting needlewise." in result.stdout
    assert revision_of(url) != head()
    upgrade(url)
    assert revision_of(url) == head()


def test_sqlite_restore_discards_a_stale_wal(tmp_path: Path, sqlite_template: Path) -> None:
    """A -wal file left from the old database must not be replayed onto the restored one."""
    target = tmp_path / "live.sqlite"
    target.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{target}"
    db = Database(url)
    seed(db, "Ada")
    backup(url, tmp_path / "ada.nw")
    db.dispose()
    con = sqlite3.connect(target, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("UPDATE patients SET given_name = 'Stale'")
    wal = target.with_name("live.sqlite-wal")
    stale = wal.read_bytes()
    con.close()
    wal.write_bytes(stale)  # a -wal file from the old database, as after a crash
    restore(url, tmp_path / "ada.nw")
    assert not wal.exists()
    assert patient_names(url) == {"Ada"}


# ---------------------------------------------------------------- PostgreSQL specifics


def test_postgres_restore_refuses_objects_the_backup_lacks(
    postgres_base: str, tmp_path: Path
) -> None:
    """An older backup into a newer database would leave the newer objects behind (and
    `db upgrade` would then fail): refused, and the database is unchanged."""
    with created_database(postgres_base) as older, created_database(postgres_base) as newer:
        upgrade(older, "0001")
        backup(older, tmp_path / "0001.dump")
        upgrade(newer)
        db = Database(newer)
        seed(db, "Ada")
        db.dispose()
        with pytest.raises(BackupError, match="audit_log_append_only"):
            restore(newer, tmp_path / "0001.dump")
        assert patient_names(newer) == {"Ada"}
        assert revision_of(newer) == head()


def test_postgres_client_tools_get_the_password_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_dump gets the connection in PG* variables, never on its command line."""
    tools = tmp_path / "bin"
    tools.mkdir()
    record = tmp_path / "record.json"
    stub = tools / "pg_dump"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv, 'env': {{k: v for k, v in os.environ.items() "
        f"if k.startswith('PG')}}}}, open({str(record)!r}, 'w'))\n"
        "print('pg_dump: error: stub stops here', file=sys.stderr)\n"
        "sys.exit(1)\n",
        encoding="utf-8",
    )
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    url = "postgresql+psycopg://clinic:s3cret-pass@db.example:6432/needlewise?sslmode=require"
    result = cli(url, "backup", str(tmp_path / "b.dump"))
    assert_refused(result, "pg_dump", "stub stops here")
    seen = json.loads(record.read_text(encoding="utf-8"))
    assert not any("s3cret" in arg or "clinic" in arg for arg in seen["argv"])
    assert seen["argv"][1] == "--format=custom"
    assert seen["env"]["PGPASSWORD"] == "s3cret-pass"
    assert seen["env"]["PGHOST"] == "db.example"
    assert seen["env"]["PGPORT"] == "6432"
    assert seen["env"]["PGUSER"] == "clinic"
    assert seen["env"]["PGDATABASE"] == "needlewise"
    assert seen["env"]["PGSSLMODE"] == "require"
    assert not list(tmp_path.glob("*.dump"))
    assert not list(tmp_path.glob(".b.dump*"))
    assert "s3cret" not in result.stderr


def test_postgres_backup_without_pg_dump_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    url = "postgresql+psycopg://clinic:s3cret-pass@127.0.0.1:5432/needlewise"
    line = assert_refused(
        cli(url, "backup", str(tmp_path / "b.dump")), "pg_dump", "not found on PATH"
    )
    assert "postgresql-client" in line
    assert "s3cret" not in line
