"""Database faults: the database cannot take the request now, through no bug of ours.

A read-only database file, a full disk, a stopped or unreachable PostgreSQL server, a
lock that did not come free in time: the request may well succeed later, so the doors
answer *503 Service Unavailable* with ``Retry-After`` and a plain reason instead of a
500 "internal error" (which means a bug). :func:`fault_of` recognises them from the
driver's own error codes (SQLite result codes, PostgreSQL SQLSTATEs), never from message
text; anything it does not recognise stays a bug.

Recovery needs one more thing on SQLite: a connection opened while the file could not be
written is opened read-only *for good*, so after the fault clears it would keep failing
until a restart. :class:`ConnectionGuard` makes the engine throw such connections away,
so the first request after the fault already gets a sound one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout


@dataclass(frozen=True, slots=True)
class DatabaseFault:
    """What is wrong, in words an operator (and a user) can read, and when to retry."""

    reason: str
    retry_after: int  # seconds
    discard: bool = False  # the connection that saw it must not be used again

    def message(self) -> str:
        return f"{self.reason}; try again in {self.retry_after} seconds"


READ_ONLY = DatabaseFault("the database is read-only", 30, discard=True)
FULL = DatabaseFault("the database's disk is full", 30)
UNREACHABLE = DatabaseFault("the database cannot be reached", 10, discard=True)
STORAGE = DatabaseFault("the database's storage reported an error", 30, discard=True)
DAMAGED = DatabaseFault("the database file is damaged", 60, discard=True)
BUSY = DatabaseFault("the database is busy", 5)

# SQLite primary result codes (https://sqlite.org/rescode.html)
_SQLITE = {
    3: READ_ONLY,  # SQLITE_PERM: access permission denied
    5: BUSY,  # SQLITE_BUSY
    6: BUSY,  # SQLITE_LOCKED
    8: READ_ONLY,  # SQLITE_READONLY
    10: STORAGE,  # SQLITE_IOERR (and its extended codes)
    11: DAMAGED,  # SQLITE_CORRUPT
    13: FULL,  # SQLITE_FULL
    14: UNREACHABLE,  # SQLITE_CANTOPEN
    26: DAMAGED,  # SQLITE_NOTADB
}

# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_POSTGRES_EXACT = {
    "25006": READ_ONLY,  # read_only_sql_transaction (a standby, default_transaction_read_only)
    "53100": FULL,  # disk_full
    "53200": BUSY,  # out_of_memory
    "53300": BUSY,  # too_many_connections
    "40001": BUSY,  # serialization_failure
    "40P01": BUSY,  # deadlock_detected
    "55P03": BUSY,  # lock_not_available
    "57014": BUSY,  # query_canceled (statement_timeout)
    "57P01": UNREACHABLE,  # admin_shutdown
    "57P02": UNREACHABLE,  # crash_shutdown
    "57P03": UNREACHABLE,  # cannot_connect_now (starting up, shutting down)
    "58030": STORAGE,  # io_error
}


def _postgres(orig: Any) -> DatabaseFault | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if not isinstance(orig, psycopg.Error):
        return None
    state = orig.sqlstate
    if state is None:
        # no SQLSTATE: the client library itself failed, e.g. the connection was refused
        # or dropped (psycopg.OperationalError)
        return UNREACHABLE if isinstance(orig, psycopg.OperationalError) else None
    if state.startswith("08"):  # connection_exception
        return UNREACHABLE
    return _POSTGRES_EXACT.get(state)


def fault_of(exc: BaseException) -> DatabaseFault | None:
    """The fault ``exc`` reports, or ``None`` when it is not a database fault (a bug)."""
    if isinstance(exc, PoolTimeout):  # every pooled connection stayed busy
        return BUSY
    orig: Any = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is None:
            return None
        return _SQLITE.get(code & 0xFF)
    fault = _postgres(orig)
    if fault is None and isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return UNREACHABLE
    return fault


class ConnectionGuard:
    """Keeps ``engine``'s pool free of connections a fault left unusable.

    * On a fault that can leave a connection unusable (a SQLite file opened read-only, an
      I/O error, a lost server), SQLAlchemy is told it was a disconnect: it drops every
      pooled connection, and the next checkout opens a new one.
    * SQLite only: a connection opened while the database was faulted may have been
      opened read-only without ever failing (it only read). Such a connection is used for
      one request and then discarded, until a write commits again
      (:meth:`write_committed`), so none of them outlives the fault.
    """

    def __init__(self, engine: Engine) -> None:
        self.faulted = False
        event.listen(engine, "handle_error", self._on_error)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", self._on_connect)
            event.listen(engine, "checkout", self._on_checkout)

    def write_committed(self) -> None:
        """A write reached the database: connections opened from now on are sound."""
        self.faulted = False

    def _on_error(self, context: Any) -> None:
        fault = fault_of(context.original_exception)
        if fault is not None and fault.discard:
            self.faulted = True
            context.is_disconnect = True

    def _on_connect(self, _dbapi_connection: Any, record: Any) -> None:
        record.info["opened_in_fault"] = self.faulted

    def _on_checkout(self, _dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get("opened_in_fault"):
            if record.info.get("used"):
                raise DisconnectionError("opened while the database was faulted")
            record.info["used"] = True
