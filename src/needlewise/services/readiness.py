"""Readiness: can this process serve requests now?

``GET /healthz`` says the process is up (it never touches the database, so a database
outage does not make a load balancer restart healthy processes). ``GET /readyz`` also
asks the database: it must answer, and its schema must be the one this version of the
code was built for. A proxy or orchestrator sends traffic only to ready processes.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from needlewise.errors import NotReady
from needlewise.persistence import migrate
from needlewise.services.runtime import Runtime

log = logging.getLogger("needlewise.readiness")


def check_ready(runtime: Runtime) -> dict[str, str]:
    """``{"status": "ready", "knowledge": …, "schema": …}``, or ``NotReady`` saying why.

    Only the exception's type is logged: a driver's message can name hosts and users.
    """
    try:
        revision = migrate.current(runtime.db.engine)
    except SQLAlchemyError as exc:
        log.warning("not ready: the database cannot be used (%s)", type(exc).__name__)
        raise NotReady(f"the database cannot be used ({type(exc).__name__})") from None
    newest = migrate.head()
    if revision != newest:
        raise NotReady(
            f"the database schema is at {revision or 'nothing'}, this version needs {newest}: "
            "run `needlewise db upgrade`"
        )
    return {"status": "ready", "knowledge": runtime.kb.version, "schema": newest}
