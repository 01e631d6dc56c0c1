"""The database: engine, sessions and unit-of-work helpers.

SQLite (the default, a file under ``./var/``) gets, on every connection: WAL journal,
foreign keys on, a busy timeout and ``synchronous=NORMAL`` (durable against a crashed
process; stack-notes.md). Write transactions start with ``BEGIN IMMEDIATE`` so that two
writers queue on the busy timeout instead of failing with "database is locked" when a
read turns into a write. PostgreSQL needs nothing special: point
``NEEDLEWISE_DATABASE_URL`` at it (``postgresql+psycopg://…``).

Use :meth:`Database.read` for read-only work and :meth:`Database.write` for changes; a
``write`` commits when the block ends without an exception and rolls back otherwise.
Do not nest a ``write`` inside another ``write`` of the same database (on SQLite the
second would wait for the first forever). Small, frequent writes (check-ins) go through
:attr:`Database.group` instead, which commits many of them in one transaction
(:mod:`needlewise.persistence.group_commit`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from needlewise.persistence.group_commit import GroupCommit

BUSY_TIMEOUT_MS = 10_000


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (all stored times are UTC)."""
    return datetime.now(UTC)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL (``None`` for in-memory databases)."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _json_text(value: Any) -> str:
    """JSON columns are written with orjson (a stored check-in's triage result is a few
    kilobytes; the standard library took ~10x as long). Non-string keys become strings,
    as the standard library would make them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """An engine for ``url`` with the project's connection settings."""
    json_options: dict[str, Any] = {
        "json_serializer": _json_text,
        "json_deserializer": orjson.loads,
    }
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            poolclass=None if pool else NullPool,
            **json_options,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if not pool:
        return create_engine(url, poolclass=NullPool, **json_options)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **json_options)


class Database:
    """One database: an engine plus session factories for reads and writes."""

    def __init__(self, url: str, *, pool: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, pool=pool)
        self.sqlite = is_sqlite(url)
        writer = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.sqlite else self.engine
        )
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)
        # SQLite allows one writer at a time. Threads of this process queue here, in
        # order, instead of in SQLite's busy handler, which sleeps and retries and gave
        # writes a long latency tail; other processes still wait on the busy timeout.
        self._write_lock = threading.Lock() if self.sqlite else None
        self.group = GroupCommit(self)  # its thread starts with the first job

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing is committed."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes commit together when the block ends."""
        if self._write_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        with self._write_lock, self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Finish queued group-commit jobs, then close every pooled connection."""
        self.group.close()
        self.engine.dispose()
