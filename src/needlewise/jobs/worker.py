"""The huey app and its tasks, built from Settings by :func:`build_worker`.

Tasks (registered inside the builder, so importing this module starts nothing):

* ``deliver(message_id)`` — send one message (``services/delivery.py``).
* ``check_due()`` — queue ``deliver`` for every message due now; the web app queues it
  with an ``eta`` through :class:`~needlewise.jobs.port.QueueJobs` when it schedules a
  message, so a message goes out on time rather than at the next sweep.

The sweep. huey's periodic tasks run at most once a minute (cron granularity), and
``NEEDLEWISE_WORKER_SWEEP_SECONDS`` may be shorter, so the consumer process runs its own
sweep thread instead (:meth:`Worker.sweep_forever`): every ``worker_sweep_seconds`` it
queues ``deliver`` for each due message (and each whose worker died mid-send) that this
process has not queued already, then runs the other periodic use cases
(:attr:`Worker.periodic`: repeating unacknowledged clinic alerts). Several worker
processes may run at once: the claim in ``services/delivery.py`` lets only one send each
message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey

from needlewise.config import Settings
from needlewise.services import delivery
from needlewise.services.runtime import Runtime

log = logging.getLogger("needlewise.worker")

#: a use case the sweep calls with (runtime, now); returns how many things it did
Periodic = Callable[[Runtime, datetime], int]


def build_huey(settings: Settings, name: str = "needlewise") -> Huey:
    """The queue of ``settings.worker_backend`` (results are not stored: nobody reads them)."""
    if settings.worker_backend == "redis":
        return RedisHuey(name, url=settings.redis_url, results=False)
    path = settings.worker_queue_file
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), results=False)


def unusable_queue(settings: Settings) -> str | None:
    """Why the queue of ``settings`` cannot be used (one line), or None."""
    try:
        huey = build_huey(settings)
        if settings.worker_backend == "redis":
            huey.storage.conn.ping()
        else:
            len(huey)  # opens the file and its table
    except Exception as exc:
        where = (
            settings.redis_url if settings.worker_backend == "redis" else settings.worker_queue_file
        )
        return f"cannot use the {settings.worker_backend} queue at {where} ({type(exc).__name__})"
    return None


def default_periodic() -> list[Periodic]:
    """The periodic use cases the sweep runs: repeating unacknowledged clinic alerts
    (``services/escalation.py``: ``repeat_due_alerts(runtime, now)``) when this version
    has it."""
    import importlib

    found: list[Periodic] = []
    try:
        escalation = importlib.import_module("needlewise.services.escalation")
    except ImportError:
        return found
    repeat = getattr(escalation, "repeat_due_alerts", None)
    if callable(repeat):
        found.append(repeat)
    return found


@dataclass
class Worker:
    """The huey app, its tasks and what the consumer process needs to run them."""

    settings: Settings
    huey: Huey
    runtime_factory: Callable[[], Runtime]
    sender_factory: Callable[[], delivery.Sender]
    periodic: Sequence[Periodic] = ()
    deliver: Any = None
    check_due: Any = None
    _runtime: Runtime | None = None
    _sender: delivery.Sender | None = None
    #: message -> when this process queued it (monotonic seconds); a task older than the
    #: claim timeout is queued again (its queue may have lost it: Redis restarted)
    _queued: dict[int, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def runtime(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                self._runtime = self.runtime_factory()
            return self._runtime

    @property
    def sender(self) -> delivery.Sender:
        with self._lock:
            if self._sender is None:
                self._sender = self.sender_factory()
            return self._sender

    def deliver_now(self, message_id: int) -> str:
        """The body of the ``deliver`` task."""
        try:
            return delivery.deliver(self.runtime, message_id, self.sender)
        finally:
            with self._lock:
                self._queued.pop(message_id, None)

    def queue_due(self, now: datetime | None = None) -> int:
        """Queue ``deliver`` for each due message not queued by this process yet."""
        due = delivery.due_message_ids(self.runtime, now)
        moment = time.monotonic()
        stale = moment - self.settings.worker_claim_timeout_seconds
        with self._lock:
            fresh = [m for m in due if self._queued.get(m, stale - 1) < stale]
            self._queued.update(dict.fromkeys(fresh, moment))
        for message_id in fresh:
            self.deliver(message_id)
        return len(fresh)

    def sweep(self, now: datetime | None = None) -> int:
        """One sweep: the periodic use cases first (they may add due alerts), then queue
        what is due. Never raises: a failing step is logged and the next sweep retries."""
        moment = now or datetime.now(UTC)
        for use_case in self.periodic:
            try:
                use_case(self.runtime, moment)
            except Exception:
                log.exception("periodic %s failed", getattr(use_case, "__name__", use_case))
        try:
            return self.queue_due(moment)
        except Exception:
            log.exception("sweep failed")
            return 0

    def sweep_forever(self, stop: threading.Event) -> None:
        """Sweep every ``worker_sweep_seconds`` until ``stop`` is set (the sweep thread)."""
        while not stop.is_set():
            self.sweep()
            stop.wait(self.settings.worker_sweep_seconds)


def build_worker(
    settings: Settings,
    *,
    name: str = "needlewise",
    runtime_factory: Callable[[], Runtime] | None = None,
    sender_factory: Callable[[], delivery.Sender] | None = None,
    periodic: Sequence[Periodic] | None = None,
) -> Worker:
    """The worker of ``settings``; ``name`` is the queue's name (its Redis key prefix)."""
    from needlewise.jobs.smtp import SmtpSender

    def start_runtime() -> Runtime:
        from needlewise.startup import start

        return start(settings)

    worker = Worker(
        settings=settings,
        huey=build_huey(settings, name),
        runtime_factory=runtime_factory or start_runtime,
        sender_factory=sender_factory or (lambda: SmtpSender(settings)),
        periodic=list(default_periodic() if periodic is None else periodic),
    )

    @worker.huey.task(name="deliver")  # type: ignore[untyped-decorator]
    def deliver_task(message_id: int) -> str:
        return worker.deliver_now(message_id)

    @worker.huey.task(name="check_due")  # type: ignore[untyped-decorator]
    def check_due_task() -> int:
        return worker.queue_due()

    worker.deliver = deliver_task
    worker.check_due = check_due_task
    return worker


def run_consumer(worker: Worker) -> None:
    """Run the consumer in this process until SIGINT or SIGTERM (the sweep thread too).

    SIGINT stops gracefully (a send in progress finishes); SIGTERM stops at once, and a
    message interrupted mid-send is sent again after the claim timeout."""
    consumer = worker.huey.create_consumer(
        workers=worker.settings.worker_threads,
        worker_type="thread",
        periodic=False,
        check_worker_health=True,
    )
    stop = threading.Event()
    sweeper = threading.Thread(target=worker.sweep_forever, args=(stop,), name="sweep", daemon=True)
    sweeper.start()
    try:
        consumer.run()
    finally:
        stop.set()
        sweeper.join(timeout=5)
