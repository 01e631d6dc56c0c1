"""The database: engine, sessions and unit-of-work helpers.

SQLite (the default, a file under ``./var/``) gets, on every connection: WAL journal,
foreign keys on, a busy timeout and ``synchronous=FULL`` (each commit is on disk before
it is acknowledged, so it survives a power loss; ``NEEDLEWISE_SQLITE_SYNCHRONOUS=normal``
trades that for speed: durable against a crashed process only). A new database file is
created readable by its owner only (mode 600), and so are its ``-wal``/``-shm`` files,
which SQLite creates with the database file's mode. Write transactions start with ``BEGIN IMMEDIATE`` so that two
writers queue on the busy timeout instead of failing with "database is locked" when a
read turns into a write. PostgreSQL needs nothing special: point
``NEEDLEWISE_DATABASE_URL`` at it (``postgresql+psycopg://…``).

A database fault (read-only file, full disk, unreachable server) is recognised by
:mod:`needlewise.persistence.faults`; connections it leaves unusable are discarded, so
the service recovers by itself once the fault clears.

Use :meth:`Database.read` for read-only work and :meth:`Database.write` for changes; a
``write`` commits when the block ends without an exception and rolls back otherwise.
Do not nest a ``write`` inside another ``write`` of the same database (on SQLite the
second would wait for the first forever). Small, frequent writes (check-ins) go through
:attr:`Database.group` instead, which commits many of them in one transaction
(:mod:`needlewise.persistence.group_commit`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from needlewise.persistence.faults import ConnectionGuard
from needlewise.persistence.group_commit import GroupCommit

BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 10  # PostgreSQL: give up on an unreachable server after this long
Synchronous = Literal["full", "normal"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (all stored times are UTC)."""
    return datetime.now(UTC)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def shown(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


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


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 600 unless it exists, and its folder with mode 700
    unless that exists (an existing file or folder keeps the mode its owner gave it)."""
    if path.exists():
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process created it first
    except OSError:
        pass  # not ours to create here: SQLite reports the problem when it connects


def _sqlite_pragmas(synchronous: Synchronous) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (_sqlite_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.close()

    return connect


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _json_text(value: Any) -> str:
    """JSON columns are written with orjson (a stored check-in's triage result is a few
    kilobytes; the standard library took ~10x as long). Non-string keys become strings,
    as the standard library would make them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, pool: bool = True, synchronous: Synchronous = "full") -> Engine:
    """An engine for ``url`` with the project's connection settings (``synchronous``:
    SQLite's durability level, see the module docstring)."""
    json_options: dict[str, Any] = {
        "json_serializer": _json_text,
        "json_deserializer": orjson.loads,
    }
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            create_private(path)  # else sqlite3 creates it world-readable (umask 022)
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            poolclass=None if pool else NullPool,
            **json_options,
        )
        event.listen(engine, "connect", _sqlite_pragmas(synchronous))
        event.listen(engine, "begin", _sqlite_begin)
    else:
        options: dict[str, Any] = {**json_options}
        if "connect_timeout" not in make_url(url).query:
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        if pool:
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        else:
            options["poolclass"] = NullPool
        engine = create_engine(url, **options)
    return engine


class Database:
    """One database: an engine plus session factories for reads and writes."""

    def __init__(self, url: str, *, pool: bool = True, synchronous: Synchronous = "full") -> None:
        self.url = url
        self.engine = make_engine(url, pool=pool, synchronous=synchronous)
        self.guard = ConnectionGuard(self.engine)
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
        self.group = GroupCommit(self.write)  # its thread starts with the first job

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
        else:
            with self._write_lock, self._write() as session, session.begin():
                yield session
        self.guard.write_committed()

    def dispose(self) -> None:
        """Finish queued group-commit jobs, then close every pooled connection."""
        self.group.close()
        self.engine.dispose()
