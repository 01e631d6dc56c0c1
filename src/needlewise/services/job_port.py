"""The port through which use cases tell the background worker about new work.

A use case that schedules messages (recording a session, an alert about a check-in)
writes them to ``outbound_messages`` in its own transaction; that row is the work. It
then calls :meth:`JobPort.wake` *after* the commit with the earliest due time, so the
worker can send it on time instead of at its next sweep. Waking is only a hint: if it is
lost (no worker running, the queue was wiped) the worker's periodic sweep still finds
every due row, so nothing is ever sent late by more than ``NEEDLEWISE_WORKER_SWEEP_SECONDS``.

:class:`NoWorker` is the port of a process that has no queue to talk to (tests, CLI
commands); :mod:`needlewise.jobs` provides the queue-backed one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class JobPort(Protocol):
    """Tells the worker that messages are due at ``due_at`` (UTC) or earlier."""

    def wake(self, due_at: datetime) -> None:
        """Never raises: a port that cannot reach its queue logs it and returns."""


class NoWorker:
    """A port that tells no one: the worker's sweep finds the work instead."""

    def __init__(self) -> None:
        self.woken: list[datetime] = []

    def wake(self, due_at: datetime) -> None:
        self.woken.append(due_at)
