"""Schema migrations on SQLite and PostgreSQL: from empty to head, one step down and up
again, the append-only audit log (0002), ``ensure_schema``'s refusals, the ``needlewise
db`` commands, and no drift between the models and the migrations.

Tests that take ``database_url`` get a fresh database at head on each backend;
``empty_url`` is a new, empty database on the same backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.exc import DatabaseError

from needlewise.cli import main
from needlewise.config import Settings
from needlewise.persistence.db import Database, is_sqlite, make_engine
from needlewise.persistence.migrate import (
    SchemaError,
    SchemaKind,
    config,
    current,
    downgrade,
    ensure_schema,
    head,
    state_of,
    upgrade,
)
from needlewise.persistence.models import AuditEntry, Base, Clinic
from support import postgres

_DOWN = ScriptDirectory.from_config(config("sqlite://")).get_revision(head()).down_revision
assert isinstance(_DOWN, str)  # the migrations form one line: one revision before head
PREVIOUS: str = _DOWN
BEFORE_AUDIT_TRIGGERS = "0001"  # the audit log became append-only in 0002


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database on the same backend as ``database_url``."""
    if is_sqlite(database_url):
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    base = database_url.rsplit("/", 1)[0]
    name = f"nw_e_{uuid.uuid4().hex[:12]}"
    with postgres.admin(base) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield f"{base}/{name}"
    with postgres.admin(base) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def revision_of(url: str) -> str | None:
    engine = make_engine(url, pool=False)
    try:
        return current(engine)
    finally:
        engine.dispose()


def tables_of(url: str) -> set[str]:
    engine = make_engine(url, pool=False)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def db_cli(url: str, *args: str, input: str | None = None) -> Result:
    """``needlewise db ARGS`` on ``url``, in-process: the settings go to the CLI as click's
    ``obj``, the environment is left alone."""
    settings = Settings(database_url=url)
    return CliRunner().invoke(
        main, ["db", *args], input=input, obj=settings, catch_exceptions=False
    )


def assert_refused(result: Result, *expected: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("needlewise: ")
    for part in expected:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def audit_row(url: str) -> int:
    db = Database(url, pool=False)
    try:
        with db.write() as session:
            entry = AuditEntry(actor="system", action="read", resource_type="patient")
            session.add(entry)
            session.flush()
            return entry.id
    finally:
        db.dispose()


def change_audit_row(url: str, sql: str, entry_id: int) -> None:
    engine = make_engine(url, pool=False)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), {"id": entry_id})
    finally:
        engine.dispose()


# ---------------------------------------------------------------- upgrade and downgrade


def test_upgrade_from_empty_to_head(empty_url: str) -> None:
    assert revision_of(empty_url) is None
    result = db_cli(empty_url, "current")
    assert result.exit_code == 0, result.output
    assert "no needlewise schema yet" in result.stdout

    result = db_cli(empty_url, "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded from an empty database to schema revision {head()} (newest)" in result.stdout
    assert revision_of(empty_url) == head()
    assert tables_of(empty_url) == set(Base.metadata.tables) | {"alembic_version"}

    again = db_cli(empty_url, "upgrade")
    assert again.exit_code == 0
    assert "nothing to do" in again.stdout


def test_downgrade_one_step_and_upgrade_again(database_url: str) -> None:
    db = Database(database_url)
    with db.write() as session:
        session.add(Clinic(name="Synthetic Migration Clinic", phones=[], languages=["en"]))
    db.dispose()

    result = db_cli(database_url, "downgrade", "-1", "--yes")
    assert result.exit_code == 0, result.output
    assert revision_of(database_url) == PREVIOUS
    assert f"downgraded from {head()} to schema revision {PREVIOUS}" in result.stdout

    status = db_cli(database_url, "current", "--json")
    assert status.exit_code == 0
    assert '"newest": false' in status.stdout
    with pytest.raises(SchemaError, match="needlewise db upgrade"):
        ensure_schema(database_url)  # the app refuses to start on the older schema

    result = db_cli(database_url, "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded from {PREVIOUS} to schema revision {head()} (newest)" in result.stdout
    assert revision_of(database_url) == head()
    assert ensure_schema(database_url) == head()
    db = Database(database_url, pool=False)
    with db.read() as session:  # the data survived the round trip
        assert session.scalars(select(Clinic.name)).all() == ["Synthetic Migration Clinic"]
    db.dispose()


def test_downgrade_asks_first(database_url: str) -> None:
    result = db_cli(database_url, "downgrade", "-1", input="n\n")
    assert result.exit_code == 1
    assert "A downgrade can drop data" in result.stderr
    assert "nothing was changed" in result.stderr
    assert revision_of(database_url) == head()


def test_unknown_revision_is_one_line(database_url: str) -> None:
    line = assert_refused(db_cli(database_url, "upgrade", "nope"), "'nope'")
    assert "0001" in line  # names the revisions it knows
    assert_refused(db_cli(database_url, "downgrade", "-99", "--yes"), "'-99'")
    assert revision_of(database_url) == head()


def test_db_commands_on_a_database_that_cannot_be_used(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'nothing-here.sqlite'}"
    assert_refused(db_cli(missing, "current"), "no database here yet")
    assert not (tmp_path / "nothing-here.sqlite").exists()  # `current` creates nothing
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database\n" * 100, encoding="utf-8")
    assert_refused(db_cli(f"sqlite:///{junk}", "current"), "cannot use the database")
    unreachable = "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none"
    line = assert_refused(db_cli(unreachable, "current"), "cannot use the database")
    assert "s3cret" not in line


# ---------------------------------------------------------------- audit log (0002)


def test_audit_log_is_append_only_at_head_but_not_below_0002(database_url: str) -> None:
    entry = audit_row(database_url)
    for sql in (
        "UPDATE audit_log SET actor = 'someone-else' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            change_audit_row(database_url, sql, entry)

    downgrade(database_url, BEFORE_AUDIT_TRIGGERS)
    change_audit_row(database_url, "UPDATE audit_log SET actor = 'edited' WHERE id = :id", entry)
    change_audit_row(database_url, "DELETE FROM audit_log WHERE id = :id", entry)
    engine = make_engine(database_url, pool=False)
    with engine.connect() as connection:  # raw SQL: the model is newer than 0001
        left = connection.execute(
            text("SELECT count(*) FROM audit_log WHERE id = :id"), {"id": entry}
        )
        assert left.scalar() == 0
    engine.dispose()

    upgrade(database_url)
    again = audit_row(database_url)
    with pytest.raises(DatabaseError, match="append-only"):
        change_audit_row(database_url, "DELETE FROM audit_log WHERE id = :id", again)


# ---------------------------------------------------------------- ensure_schema


def test_ensure_schema_creates_the_schema_on_an_empty_database(empty_url: str) -> None:
    assert ensure_schema(empty_url) == head()
    assert revision_of(empty_url) == head()


def test_ensure_schema_refuses_a_database_with_foreign_tables(empty_url: str) -> None:
    engine = make_engine(empty_url, pool=False)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE inventory (id INTEGER PRIMARY KEY, item TEXT)"))
    engine.dispose()
    with pytest.raises(SchemaError, match="no needlewise schema version"):
        ensure_schema(empty_url)
    assert_refused(db_cli(empty_url, "upgrade"), "inventory", "no needlewise schema")
    assert tables_of(empty_url) == {"inventory"}  # nothing was created


def test_ensure_schema_refuses_an_outdated_schema(database_url: str) -> None:
    downgrade(database_url, "-1")
    with pytest.raises(SchemaError) as raised:
        ensure_schema(database_url)
    message = str(raised.value)
    assert f"at {PREVIOUS}" in message
    assert "needlewise db upgrade" in message
    assert "needlewise backup" in message


def test_every_door_words_an_outdated_schema_alike(database_url: str) -> None:
    """Start-up, the CLI commands that use stored records and ``db current`` all say what
    :meth:`SchemaState.problem` says (one line, exit 2), and change nothing."""
    downgrade(database_url, "-1")
    problem = state_of(PREVIOUS).problem()
    settings = Settings(database_url=database_url)
    admin = ["user", "create-admin", "--email", "a@clinic.example", "--name", "A"]
    for args in (
        ["serve"],
        [*admin, "--clinic", "Synthetic Clinic", "--password", "granite otter lantern quietly"],
        ["audit", "verify"],
    ):
        result = CliRunner().invoke(main, args, obj=settings, catch_exceptions=False)
        assert assert_refused(result, problem).endswith(problem), args
    current_line = db_cli(database_url, "current").stdout
    assert "this version needs" in current_line
    assert "needlewise db upgrade" in current_line
    assert revision_of(database_url) == PREVIOUS


def test_a_schema_from_a_newer_version_is_refused_everywhere(database_url: str) -> None:
    engine = make_engine(database_url, pool=False)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="written by a newer needlewise"):
        ensure_schema(database_url)
    assert_refused(db_cli(database_url, "upgrade"), "9999", "newer needlewise")
    status = db_cli(database_url, "current", "--json")
    assert status.exit_code == 0, status.output
    assert '"state": "newer"' in status.stdout
    assert revision_of(database_url) == "9999"


def test_schema_states() -> None:
    assert state_of(head()).kind is SchemaKind.CURRENT
    assert state_of(head()).problem() == ""
    assert state_of(PREVIOUS).kind is SchemaKind.BEHIND
    assert state_of(None).kind is SchemaKind.NEW
    assert "first start creates it" in state_of(None).problem()
    foreign = state_of(None, ["d", "c", "b", "a"])
    assert foreign.kind is SchemaKind.FOREIGN
    assert "(a, b, c…)" in foreign.problem()
    newer = state_of("9999")
    assert (newer.kind, newer.known, newer.newest) == (SchemaKind.NEWER, False, False)
    assert "unknown to this version" in newer.describe()


# ---------------------------------------------------------------- no drift


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    engine = make_engine(database_url, pool=False)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []
            # the comparison does see a difference when there is one
            probe = MetaData(naming_convention=Base.metadata.naming_convention)
            for table in Base.metadata.tables.values():
                table.to_metadata(probe)
            Table("drift_probe", probe, Column("id", Integer, primary_key=True))
            diffs = compare_metadata(context, probe)
            assert [d[0] for d in diffs] == ["add_table"]
            assert diffs[0][1].name == "drift_probe"
    finally:
        engine.dispose()
