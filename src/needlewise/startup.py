"""The one way a process that serves patients starts: ``start(settings) -> Runtime``.

The web app (``create_app``), the CLI commands that touch stored records and (later) the
background worker all call :func:`start`. It makes sure the database schema is the one this
version of the code needs (creating it on a new, empty database; refusing an outdated or a
newer one with the message :mod:`needlewise.persistence.migrate` words for the operator),
warns when a SQLite file is readable by other users of the host, loads the knowledge base
with its value sets and builds the :class:`~needlewise.services.runtime.Runtime` that every
use case receives. Nothing here runs at import time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from needlewise.config import Settings
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.db import sqlite_path
from needlewise.persistence.migrate import ensure_schema
from needlewise.services.runtime import Runtime

log = logging.getLogger("needlewise.startup")


def start(settings: Settings, kb: KnowledgeBase | None = None) -> Runtime:
    """Ensure the schema, then build the runtime for ``settings``.

    Raises :class:`~needlewise.persistence.migrate.SchemaError` (its message tells the
    operator what to do) when the database cannot be used by this version.
    """
    ensure_schema(settings.database_url)  # creates it on a new database; refuses an old one
    warn_if_shared(settings.database_url)
    runtime = Runtime.build(settings, kb)
    for problem in runtime.kb.value_set_problems:
        log.warning("value sets: %s", problem)
    return runtime


def warn_if_shared(database_url: str) -> None:
    """Warn when the SQLite file (made by an older version, or copied) is readable by other
    users of the host: it holds patient data."""
    path = sqlite_path(database_url)
    if path is not None and path.exists() and path.stat().st_mode & 0o077:
        log.warning(
            "the database file %s can be read by other users of this host: chmod 600 it "
            "(and its -wal and -shm files)",
            Path(path).resolve(),
        )
