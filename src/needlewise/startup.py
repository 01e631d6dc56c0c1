"""The one way a process that serves patients starts: ``start(settings) -> Runtime``.

The web app (``create_app``), the CLI commands that touch stored records and (later) the
background worker all call :func:`start`. It makes sure the database schema is the one this
version of the code needs (creating it on a new, empty database; refusing an outdated or a
newer one with the message :mod:`needlewise.persistence.migrate` words for the operator),
warns when a SQLite file is readable by other users of the host, loads the knowledge base
with its value sets and builds the :class:`~needlewise.services.runtime.Runtime` that every
use case receives. Nothing here runs at import time.

A command that only reads stored records and must change nothing (``needlewise audit
verify``, which also checks a restored backup) opens the database with
:func:`open_for_reading` instead: the same schema rule and warning, but it never creates
a schema. The ``needlewise db``, ``backup`` and ``restore`` commands work on the schema
and the files themselves, whatever their state, so they use neither.
"""

from __future__ import annotations

import logging
from pathlib import Path

from needlewise.config import Settings
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.db import Database, sqlite_path
from needlewise.persistence.migrate import ensure_schema, require_schema
from needlewise.services.job_port import JobPort
from needlewise.services.runtime import Runtime

log = logging.getLogger("needlewise.startup")


def start(
    settings: Settings, kb: KnowledgeBase | None = None, jobs: JobPort | None = None
) -> Runtime:
    """Ensure the schema, then build the runtime for ``settings``.

    Raises :class:`~needlewise.persistence.migrate.SchemaError` (its message tells the
    operator what to do) when the database cannot be used by this version.
    """
    ensure_schema(settings.database_url)  # creates it on a new database; refuses an old one
    warn_if_shared(settings.database_url)
    runtime = Runtime.build(settings, kb, jobs)
    for problem in runtime.kb.value_set_problems:
        log.warning("value sets: %s", problem)
    return runtime


def open_for_reading(settings: Settings) -> Database:
    """The database of ``settings``, for reading stored records only (no pool: one
    command's work). Creates and changes nothing: raises
    :class:`~needlewise.persistence.migrate.SchemaError` unless the schema is already the
    one this version needs (a missing SQLite file included). Dispose of it when done."""
    require_schema(settings.database_url)
    warn_if_shared(settings.database_url)
    return Database(settings.database_url, pool=False)


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
