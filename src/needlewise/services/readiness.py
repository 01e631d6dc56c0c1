"""Readiness: can this process serve requests now?

``GET /healthz`` says the process is up (it never touches the database, so a database
outage does not make a load balancer restart healthy processes). ``GET /readyz`` also
asks the database: it must answer, its schema must be the one this version of the code
was built for, and it must take a write. The write changes nothing (it sets the schema
revision to itself) but goes all the way to disk, so a read-only database file, a full
disk or a read-only PostgreSQL server (a standby, ``default_transaction_read_only``)
makes the process not ready, although reads still work. A proxy or orchestrator sends
traffic only to ready processes.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from needlewise.errors import NotReady
from needlewise.persistence import migrate
from needlewise.persistence.faults import fault_of
from needlewise.services.runtime import Runtime

log = logging.getLogger("needlewise.readiness")

RETRY_AFTER_SECONDS = 10
_PROBE = text("UPDATE alembic_version SET version_num = version_num")


def _not_ready(exc: SQLAlchemyError, what: str) -> NotReady:
    """Only the exception's type is logged: a driver's message can name hosts and users."""
    fault = fault_of(exc)
    reason = fault.reason if fault else type(exc).__name__
    log.warning("not ready: %s (%s; %s failed)", reason, type(exc).__name__, what)
    retry = fault.retry_after if fault else RETRY_AFTER_SECONDS
    return NotReady(f"the database cannot be used ({reason}; {what} failed)", retry_after=retry)


def check_ready(runtime: Runtime) -> dict[str, str]:
    """``{"status": "ready", "knowledge": …, "schema": …}``, or ``NotReady`` saying why
    (for the schema, in the words of :meth:`~needlewise.persistence.migrate.SchemaState.problem`)."""
    try:
        state = migrate.read_state(runtime.db.engine)
    except SQLAlchemyError as exc:
        raise _not_ready(exc, "reading") from None
    if not state.newest:
        raise NotReady(state.problem(), retry_after=RETRY_AFTER_SECONDS)
    try:
        with runtime.db.write() as tx:
            tx.execute(_PROBE)
    except SQLAlchemyError as exc:
        raise _not_ready(exc, "a test write") from None
    return {"status": "ready", "knowledge": runtime.kb.version, "schema": state.head}
