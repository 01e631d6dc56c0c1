"""Schema migrations (Alembic), run from Python: ``needlewise db upgrade`` and at start-up.

The rule "what state is the database's schema in, and what do we tell the operator" lives
here and nowhere else: :func:`schema_state` reads a database and :func:`state_of` judges a
revision (one read from a backup, say); the :class:`SchemaState` either returns says what
the state is (its :class:`SchemaKind`), describes it in a few words (``describe``) and
says what the operator must do about it (``problem``). Start-up (:func:`ensure_schema`),
the readiness check, the ``needlewise db`` commands and backup/restore all use it.

``ensure_schema`` creates the schema on a new, empty database and refuses to run on one
whose schema is not the one this version needs (behind: run ``needlewise db upgrade``).
On PostgreSQL an advisory lock makes concurrent starts of several app processes safe.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
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

    def __init__(self, state: SchemaState) -> None:
        super().__init__(state.problem())
        self.state = state


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


@cache
def revisions() -> tuple[str, ...]:
    """Every schema revision this version knows, oldest first."""
    script = ScriptDirectory.from_config(config("sqlite://"))
    return tuple(r.revision for r in reversed(list(script.walk_revisions())))


# ------------------------------------------------------------------ schema state


class SchemaKind(StrEnum):
    """What a database's schema is to this version of needlewise."""

    MISSING = "missing"  # a SQLite file that does not exist yet: start-up creates it
    NEW = "new"  # no needlewise schema and no other tables: start-up creates the schema
    FOREIGN = "foreign"  # tables, but no needlewise schema version: not ours, left alone
    NEWER = "newer"  # a revision this version does not know: written by a newer version
    BEHIND = "behind"  # an older revision: `needlewise db upgrade`
    CURRENT = "current"  # the newest revision: this version can use it


@dataclass(frozen=True)
class SchemaState:
    """A database's (or a backup's) schema seen with the eyes of this version."""

    kind: SchemaKind
    revision: str | None  # None: no needlewise schema
    head: str  # the newest revision this version knows
    tables: tuple[str, ...] = ()  # other tables, when there is no needlewise schema

    @property
    def newest(self) -> bool:
        return self.kind is SchemaKind.CURRENT

    @property
    def known(self) -> bool:
        """A needlewise revision this version knows (the newest or an older one)."""
        return self.kind in (SchemaKind.CURRENT, SchemaKind.BEHIND)

    def describe(self) -> str:
        """The state in a few words, e.g. ``schema revision 0006 (newest)``."""
        if self.revision is None:
            return "no needlewise schema"
        if self.kind is SchemaKind.CURRENT:
            return f"schema revision {self.revision} (newest)"
        if self.kind is SchemaKind.NEWER:
            return (
                f"schema revision {self.revision} (unknown to this version: made by a newer one?)"
            )
        return f"schema revision {self.revision} (this version needs {self.head}: run `needlewise db upgrade`)"

    def problem(self) -> str:
        """What keeps this version from using the database, and what to do; ``""`` when
        nothing does (the newest schema)."""
        if self.kind is SchemaKind.MISSING:
            return "no database here yet; `needlewise serve` or `needlewise db upgrade` creates it"
        if self.kind is SchemaKind.NEW:
            return (
                f"the database has no needlewise schema yet (this version needs {self.head}); "
                "`needlewise db upgrade` or the first start creates it"
            )
        if self.kind is SchemaKind.FOREIGN:
            names = ", ".join(self.tables[:3]) + ("…" if len(self.tables) > 3 else "")
            return (
                f"the database has tables ({names}) but no needlewise schema version; "
                "point NEEDLEWISE_DATABASE_URL at an empty database or a needlewise one"
            )
        if self.kind is SchemaKind.NEWER:
            return (
                f"the database schema is at {self.revision}, which this version does not know: "
                "it was written by a newer needlewise; run that version (or restore a backup "
                "made for this one)"
            )
        if self.kind is SchemaKind.BEHIND:
            return (
                f"the database schema is at {self.revision}, this version needs {self.head}: "
                "back it up (`needlewise backup PATH`), then run `needlewise db upgrade`"
            )
        return ""


def state_of(revision: str | None, tables: Sequence[str] = ()) -> SchemaState:
    """Judge ``revision`` (``None``: no needlewise schema; ``tables``: the database's other
    tables then, which make it foreign)."""
    newest = head()
    if revision is None:
        kind = SchemaKind.FOREIGN if tables else SchemaKind.NEW
        return SchemaState(kind, None, newest, tuple(sorted(tables)))
    if revision == newest:
        return SchemaState(SchemaKind.CURRENT, revision, newest)
    kind = SchemaKind.BEHIND if revision in revisions() else SchemaKind.NEWER
    return SchemaState(kind, revision, newest)


def read_state(engine: Engine) -> SchemaState:
    """The schema state of the database behind ``engine`` (its table names are read only
    when it has no needlewise revision). Raises SQLAlchemy's errors when it cannot be read."""
    revision = current(engine)
    tables: list[str] = []
    if revision is None:
        tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    return state_of(revision, tables)


def schema_state(url: str) -> SchemaState:
    """The schema state of the database at ``url``; a missing SQLite file is
    :attr:`SchemaKind.MISSING` (and is not created)."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return SchemaState(SchemaKind.MISSING, None, head())
    engine = make_engine(url, pool=False)
    try:
        return read_state(engine)
    finally:
        engine.dispose()


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
    """Create the schema on a new, empty database; refuse any other schema but the newest
    (:class:`SchemaError`, whose message tells the operator what to do). Returns the
    revision."""
    with _startup_lock(url):
        state = schema_state(url)
        if state.kind in (SchemaKind.MISSING, SchemaKind.NEW):
            upgrade(url)
            return head()
        if state.kind is not SchemaKind.CURRENT:
            raise SchemaError(state)
        return state.head


def require_schema(url: str) -> str:
    """Refuse (:class:`SchemaError`) unless the database already has the newest schema;
    never creates or changes anything. For commands that only read stored records."""
    state = schema_state(url)
    if state.kind is not SchemaKind.CURRENT:
        raise SchemaError(state)
    return state.head
