"""Backup and restore: a consistent copy of the live database, and putting one back.

SQLite: the sqlite3 online backup API copies the database page by page inside one read
transaction, so the copy is one consistent snapshot while the server keeps writing (WAL
lets writers carry on, and an open write transaction is simply not in the copy). The copy
goes to a temporary file next to PATH, is switched to a single-file journal, checked
(``PRAGMA quick_check``), fsynced and renamed into place: PATH is never half written.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot; writers are not
blocked), into a temporary file renamed into place. The connection goes to the client
tools in ``PG*`` environment variables, never on their command line, where ``ps`` shows
it to every user of the host.

Restore replaces the configured database with a backup, after checking the backup holds a
needlewise schema whose revision this version knows. The server must be stopped: SQLite
refuses while any connection has the database open; PostgreSQL refuses while other
sessions use it. SQLite: the backup is copied to a temporary file beside the database,
fsynced, stale ``-wal``/``-shm``/``-journal`` files are removed and the copy is renamed
over the database. PostgreSQL: ``pg_restore --clean --if-exists --no-owner`` in one
transaction, so a failed restore changes nothing.

Errors are :class:`BackupError` (one line, no patient data, never the password). This
module only checks and dispatches: the work of each backend is in ``backup_sqlite`` and
``backup_postgres``, and what they share (the error, progress, temporary files, fsync) in
``backup_files``. What a backup's schema revision means is
:func:`needlewise.persistence.migrate.state_of`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import make_url

from needlewise.persistence import backup_postgres, backup_sqlite
from needlewise.persistence.backup_files import (
    BackupError,
    Progress,
    Throttled,
    fsync,
    fsync_dir,
    temp_beside,
)
from needlewise.persistence.db import shown
from needlewise.persistence.migrate import SchemaState, state_of

__all__ = ["BackupError", "BackupInfo", "backup", "inspect", "restore"]

Backend = Literal["sqlite", "postgresql"]

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
STEP_PAGES = 4096  # pages per backup step (16 MiB at SQLite's default page size)


@dataclass(frozen=True)
class BackupInfo:
    """A backup file: where, how big, which backend and schema; ``seconds`` the work took."""

    path: Path
    bytes: int
    backend: Backend
    schema: SchemaState
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "backend": self.backend,
            "revision": self.schema.revision,
            "head": self.schema.head,
            "newest": self.schema.newest,
            "upgrade_needed": not self.schema.newest,
            "seconds": round(self.seconds, 3),
        }


def backend_of(url: str) -> Backend:
    name = make_url(url).get_backend_name()
    if name in ("sqlite", "postgresql"):
        return name  # type: ignore[return-value]
    raise BackupError(f"backups support SQLite and PostgreSQL, not {name}", shown(url))


# ------------------------------------------------------------------ public functions


def backup(
    url: str,
    dest: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    step_pages: int = STEP_PAGES,
) -> BackupInfo:
    """Write a consistent backup of the database at ``url`` to the new file ``dest``."""
    started = time.monotonic()
    kind = backend_of(url)
    _check_dest(dest, force)
    with temp_beside(dest) as tmp:
        if kind == "sqlite":
            backup_sqlite.backup(url, tmp, step_pages, Throttled(progress))
        else:
            backup_postgres.backup(url, tmp, Throttled(progress))
        revision = _read_revision(kind, tmp)
        size = tmp.stat().st_size
        fsync(tmp)
        if dest.exists() and not force:
            raise BackupError("already exists; pass --force to replace it", str(dest))
        os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return BackupInfo(dest, size, kind, state_of(revision), time.monotonic() - started)


def inspect(url: str, source: Path) -> BackupInfo:
    """Check ``source`` is a backup for this database kind with a known needlewise schema."""
    kind = backend_of(url)
    if source.is_dir():
        raise BackupError("is a folder; expected a backup file", str(source))
    try:
        with source.open("rb") as file:
            magic = file.read(len(SQLITE_MAGIC))
        size = source.stat().st_size
    except OSError as exc:
        raise BackupError(f"cannot read the file ({exc.strerror})", str(source)) from None
    if kind == "sqlite" and magic.startswith(PGDUMP_MAGIC):
        raise BackupError("is a PostgreSQL dump, but the database is SQLite", str(source))
    if kind == "postgresql" and magic == SQLITE_MAGIC:
        raise BackupError("is a SQLite database, but the database is PostgreSQL", str(source))
    revision = _read_revision(kind, source, magic)
    found = state_of(revision)
    if revision is None:
        raise BackupError(
            "holds no needlewise schema (no alembic_version table or revision)", str(source)
        )
    if not found.known:
        raise BackupError(
            f"holds schema revision {revision}, which this version of needlewise does not "
            "know (was it made by a newer version?)",
            str(source),
        )
    return BackupInfo(source, size, kind, found)


def restore(url: str, source: Path, *, progress: Progress | None = None) -> BackupInfo:
    """Replace the database at ``url`` with the backup ``source`` (the server must be stopped)."""
    started = time.monotonic()
    info = inspect(url, source)
    if info.backend == "sqlite":
        backup_sqlite.restore(url, source, Throttled(progress))
    else:
        backup_postgres.restore(url, source, Throttled(progress))
    return BackupInfo(source, info.bytes, info.backend, info.schema, time.monotonic() - started)


def _read_revision(kind: Backend, path: Path, magic: bytes | None = None) -> str | None:
    """The schema revision inside a backup file; refuses a file of the wrong format."""
    if magic is None:
        with path.open("rb") as file:
            magic = file.read(len(SQLITE_MAGIC))
    if kind == "sqlite":
        if magic != SQLITE_MAGIC:
            raise BackupError("is not a SQLite database", str(path))
        return backup_sqlite.revision(path)
    if not magic.startswith(PGDUMP_MAGIC):
        raise BackupError(
            "is not a PostgreSQL custom-format dump (pg_dump --format=custom)", str(path)
        )
    return backup_postgres.archive(path)[0]


# ------------------------------------------------------------------ files


def _check_dest(dest: Path, force: bool) -> None:
    if dest.is_dir():
        raise BackupError("is a folder; give the name of the backup file", str(dest))
    if dest.exists() and not dest.is_file():
        # a device or a pipe: the backup is renamed into place, which would replace it
        raise BackupError("is not a regular file; give the name of the backup file", str(dest))
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist", str(dest))
    if dest.exists() and not force:
        raise BackupError("already exists; pass --force to replace it", str(dest))
