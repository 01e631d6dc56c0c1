"""SQLite backup and restore (see :mod:`needlewise.persistence.backup`).

Backup: the sqlite3 online backup API inside one read transaction, so every step copies
the same snapshot and writers (WAL) carry on. Restore: refuse while any connection has
the database open, copy beside it, fsync, drop stale ``-wal``/``-shm``/``-journal`` files,
rename over it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from needlewise.persistence.backup_files import BackupError, Progress, fsync_dir, temp_beside
from needlewise.persistence.db import BUSY_TIMEOUT_MS, shown, sqlite_path

_CHUNK = 16 * 1024 * 1024


def _database_file(url: str, *, must_exist: bool = True) -> Path:
    path = sqlite_path(url)
    if path is None:
        raise BackupError("an in-memory database cannot be backed up or restored", shown(url))
    if must_exist and not path.is_file():
        raise BackupError("no database here (nothing to back up)", str(path))
    return path


def backup(url: str, tmp: Path, step_pages: int, progress: Progress) -> None:
    """Copy the database at ``url`` into the new file ``tmp``."""
    source = _database_file(url)
    try:
        src = sqlite3.connect(
            source.resolve().as_uri() + "?mode=rw", uri=True, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database ({exc})", str(source)) from None
    try:
        src.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # One read transaction for the whole copy: every step sees the same snapshot, and
        # writers (WAL) are not blocked, so the backup never restarts.
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def step(_status: int, remaining: int, total: int) -> None:
            progress(f"backup: {total - remaining} of {total} pages copied")

        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dst, pages=step_pages, progress=step)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
        src.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed ({exc})", str(source)) from None
    finally:
        src.close()


def revision(source: Path) -> str | None:
    """The schema revision inside a SQLite backup (read-only; the file is not changed)."""
    try:
        con = sqlite3.connect(source.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database ({exc})", str(source)) from None
    try:
        check = con.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the database is damaged (quick_check: {check})", str(source))
        if not con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone():
            return None
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"is not a usable SQLite database ({exc})", str(source)) from None
    finally:
        con.close()


def _claim(target: Path, progress: Progress) -> None:
    """Refuse when any connection has ``target`` open; fold its WAL back into the file.

    Leaving WAL mode needs the only connection to the database, so it fails while a server
    (or anything else) holds one open, even an idle one.
    """
    if not target.exists():
        return
    try:
        con = sqlite3.connect(target.resolve().as_uri() + "?mode=rw", uri=True, timeout=0)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database ({exc})", str(target)) from None
    try:
        mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(
                "the database is in use: stop every needlewise process before restoring",
                str(target),
            ) from None
        raise BackupError(f"cannot open the database ({exc})", str(target)) from None
    except sqlite3.DatabaseError:
        progress("restore: the current file is not a readable database; replacing it")
        return
    finally:
        con.close()
    if str(mode).lower() != "delete":
        raise BackupError(
            "the database is in use: stop every needlewise process before restoring", str(target)
        )


def restore(url: str, source: Path, progress: Progress) -> None:
    """Replace the database at ``url`` with the checked backup ``source``."""
    target = _database_file(url, must_exist=False)
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError("is the configured database itself", str(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    _claim(target, progress)  # fail fast, before a long copy
    with temp_beside(target) as tmp:
        total = source.stat().st_size
        with source.open("rb") as src, tmp.open("wb") as dst:
            done = 0
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
                done += len(chunk)
                progress(f"restore: {done // 2**20} of {total // 2**20} MiB copied")
            dst.flush()
            os.fsync(dst.fileno())
        if target.exists():  # keep the file's mode and owner, so the server can open it
            old = target.stat()
            os.chmod(tmp, old.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(tmp, old.st_uid, old.st_gid)
        _claim(target, progress)
        for suffix in ("-wal", "-shm", "-journal"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    fsync_dir(target.parent)
