"""Schema migrations (Alembic), run from Python: ``needlewise db upgrade`` and at start-up.

``ensure_schema`` creates the schema on a new, empty database and refuses to run on one
whose schema is behind the code (run ``needlewise db upgrade``). On PostgreSQL an
advisory lock makes concurrent starts of several app processes safe.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from needlewise.persistence.db import create_private, make_engine, sqlite_path

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 8_250_011  # arbitrary, constant: the advisory lock for migrations


class SchemaError(RuntimeError):
    """The database schema is not usable by this version (the message says what to do)."""


def config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


@cache
def head() -> str:
    """The newest migration the code knows (read from the scripts once per process)."""
    revision = ScriptDirectory.from_config(config("sqlite://")).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    """The database's migration, ``None`` when it has none (a new database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    _locked(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str, revision: str) -> None:
    _locked(url, lambda cfg: command.downgrade(cfg, revision))


def _locked(url: str, action: object) -> None:
    engine = make_engine(url, pool=False)
    try:
        with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
                connection.commit()
            try:
                cfg = config(url)
                cfg.attributes["connection"] = connection
                action(cfg)  # type: ignore[operator]
                connection.commit()
            finally:
                if postgres:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                    connection.commit()
    finally:
        engine.dispose()


@contextmanager
def _startup_lock(url: str) -> Iterator[None]:
    """Serialise schema creation among processes starting together on one SQLite file
    (PostgreSQL uses an advisory lock inside ``upgrade``)."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    lock = path.with_name(path.name + ".migrate.lock")
    create_private(lock)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_schema(url: str) -> str:
    """Create the schema on an empty database; refuse an outdated one. Returns the revision."""
    with _startup_lock(url):
        return _ensure_schema(url)


def _ensure_schema(url: str) -> str:
    engine = make_engine(url, pool=False)
    try:
        revision = current(engine)
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if revision is None:
        if tables - {"alembic_version"}:
            raise SchemaError(
                "the database has tables but no needlewise schema version; "
                "point NEEDLEWISE_DATABASE_URL at an empty database or a needlewise one"
            )
        upgrade(url)
        return head()
    known = {
        script.revision
        for script in ScriptDirectory.from_config(config("sqlite://")).walk_revisions()
    }
    if revision not in known:
        raise SchemaError(
            f"the database schema is at {revision}, which this version does not know: it was "
            "written by a newer needlewise; run that version (or restore a backup made for this one)"
        )
    if revision != head():
        raise SchemaError(
            f"the database schema is at {revision}, this version needs {head()}: "
            "back it up (`needlewise backup PATH`), then run `needlewise db upgrade`"
        )
    return revision
