"""The queue-backed :class:`~needlewise.services.job_port.JobPort`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from needlewise.config import Settings
from needlewise.jobs.worker import Worker, build_worker

log = logging.getLogger("needlewise.jobs")


class QueueJobs:
    """``wake(due_at)`` queues a ``check_due`` task for ``due_at`` on the worker's queue.

    Never raises: when the queue cannot be reached (Redis down) it logs one line and
    returns — the worker's sweep finds the message anyway."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def wake(self, due_at: datetime) -> None:
        try:
            if due_at <= datetime.now(UTC):
                self.worker.check_due()
            else:
                self.worker.check_due.schedule(eta=due_at.astimezone(UTC))
        except Exception as exc:  # the sweep is the safety net
            log.warning("could not wake the worker (%s); its sweep will find the work",
                        type(exc).__name__)


def queue_jobs(settings: Settings) -> QueueJobs:
    """The port for a web app or CLI process of ``settings`` (connects on first use)."""
    return QueueJobs(build_worker(settings))
