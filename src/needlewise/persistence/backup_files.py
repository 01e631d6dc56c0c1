"""What backup and restore share, whichever the database: the error they raise, progress
reporting and careful file handling (:mod:`needlewise.persistence.backup` dispatches to
:mod:`~needlewise.persistence.backup_sqlite` and
:mod:`~needlewise.persistence.backup_postgres`, which both use these).

A backup or restore writes into a private (mode 600) temporary file beside its target,
fsyncs it, renames it into place and fsyncs the folder: the target is never half written.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from needlewise.errors import InputError

Progress = Callable[[str], None]
QUIET_SECONDS = 1.0  # progress is shown only for work that takes longer than this


class BackupError(InputError):
    """A backup or restore that cannot be done; nothing was changed."""


class Throttled:
    """Passes progress on, at most once a second and only once the work took a second."""

    def __init__(self, sink: Progress | None) -> None:
        self.sink = sink
        self.last = time.monotonic()

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if self.sink is not None and now - self.last >= QUIET_SECONDS:
            self.last = now
            self.sink(message)


@contextmanager
def temp_beside(path: Path) -> Iterator[Path]:
    """A new, private (mode 600) temporary file in ``path``'s folder, removed unless renamed."""
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise BackupError(f"cannot write in {path.parent} ({exc.strerror})", str(path)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except OSError as exc:
        raise BackupError(f"cannot write ({exc.strerror})", str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    with path.open("rb+") as file:
        os.fsync(file.fileno())


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
