"""The queue-backed :class:`~needlewise.services.job_port.JobPort`."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from needlewise.config import Settings
from needlewise.jobs.worker import Worker, build_worker

log = logging.getLogger("needlewise.jobs")


class QueueJobs:
    """``wake(due_at)`` queues a ``check_due`` task for ``due_at`` on the worker's queue.

    The queue is opened on the first wake (a process that never schedules a message never
    touches it). Never raises: when the queue cannot be reached (Redis down, the queue
    file unwritable) it logs one line and returns — the worker's sweep finds the message
    anyway, at most ``NEEDLEWISE_WORKER_SWEEP_SECONDS`` later."""

    def __init__(self, settings: Settings, worker: Worker | None = None) -> None:
        self.settings = settings
        self._worker = worker
        self._lock = threading.Lock()

    def worker(self) -> Worker:
        with self._lock:
            if self._worker is None:
                self._worker = build_worker(self.settings)
            return self._worker

    def wake(self, due_at: datetime) -> None:
        try:
            check_due = self.worker().check_due
            if due_at <= datetime.now(UTC):
                check_due()
            else:
                check_due.schedule(eta=due_at.astimezone(UTC))
        except Exception as exc:  # the sweep is the safety net
            log.warning(
                "could not wake the worker (%s); its sweep will find the work",
                type(exc).__name__,
            )


def queue_jobs(settings: Settings) -> QueueJobs:
    """The port for a web app or CLI process of ``settings``."""
    return QueueJobs(settings)
