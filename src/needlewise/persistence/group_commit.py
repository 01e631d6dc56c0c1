"""Group commit: many small writes, one transaction and one commit.

A burst of after-treatment check-ins (a clinic's patients answering the evening after
treatment, or a call centre keying in phone calls) is many tiny writes. Opening a
session and a transaction, and committing, cost more than the two rows each one inserts;
on SQLite the writes also queue for its single writer. :class:`GroupCommit` runs such
writes on one thread: whatever has queued up while the previous transaction was
committing goes into the next one, so one commit covers many requests. Under light load
each write still gets its own transaction at once: nothing waits for a batch to fill.

A job is a *plan* (the values to write) and a *writer*: a module-level function
``write(connection, plans) -> results`` that writes the plans of every job of the batch
that named it, in the order they were submitted (e.g. one multi-row INSERT for all of
them), and returns one result per plan. In place of a result it may return an exception
for a job it refused without writing anything for it (e.g. its lookup found no such
patient): that job fails with it, the others go on. If the writer raises, the whole
transaction is rolled back and every job of the batch is run again on its own, so one
bad job never takes the others with it and nothing half-written is ever committed.

A job's future gets its result only after the transaction holding it has committed, so
a caller that answers "stored" (HTTP 201) after awaiting it never acknowledges a write
that a crash could lose. Jobs must be quick: they hold the database's write lock.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

log = logging.getLogger("needlewise.persistence")

P = TypeVar("P")
T = TypeVar("T")

MAX_BATCH = 64  # jobs per transaction (a 32-connection burst fits in one)


Writer = Callable[[Connection, list[P]], Sequence[T | BaseException]]
#: opens a write transaction: a session that commits when the block ends without an
#: exception and rolls back otherwise (:meth:`needlewise.persistence.db.Database.write`)
Transaction = Callable[[], AbstractContextManager[Session]]


@dataclass
class _Job(Generic[P, T]):
    plan: P
    write: Writer[P, T]
    future: Future[T] = field(default_factory=Future)


_STOP = object()


class GroupCommit:
    """One writer thread, started on the first job (see the module docstring); each batch
    runs in a transaction opened by ``transaction`` (``Database.write``)."""

    def __init__(self, transaction: Transaction, max_batch: int = MAX_BATCH) -> None:
        self._transaction = transaction
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # transactions committed (read by tests and the benchmark)
        self.jobs = 0  # jobs that succeeded

    def submit(self, plan: P, write: Writer[P, T]) -> Future[T]:
        """Queue a job; its future holds ``write``'s result once it has committed."""
        job: _Job[P, T] = _Job(plan, write)
        with self._lock:  # never behind the stop signal of a closing thread
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="needlewise-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.put(job)
        return job.future

    def run(self, plan: P, write: Writer[P, T]) -> T:
        """Run a job and wait for it (from any thread but the writer's own)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a group-commit job cannot wait for another job")
        return self.submit(plan, write).result()

    async def run_async(self, plan: P, write: Writer[P, T]) -> T:
        """Run a job from async code without tying up a worker thread while it waits."""
        return await asyncio.wrap_future(self.submit(plan, write))

    def close(self) -> None:
        """Finish the queued jobs and stop the thread (a later job starts a new one)."""
        with self._lock:
            if self._thread is None:
                return
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Job[Any, Any]] = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            live = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if live:
                try:
                    self._run_batch(live)
                except BaseException as exc:  # never leave a caller waiting forever
                    log.error("group commit: a batch stopped (%s)", type(exc).__name__)
                    for job in live:
                        if not job.future.done():
                            job.future.set_exception(exc)
            if stop:
                return

    def _run_batch(self, batch: list[_Job[Any, Any]]) -> None:
        """One transaction for ``batch``; if a write fails, each job again on its own."""
        outcomes: list[tuple[_Job[Any, Any], Any]] = []
        try:
            with self._transaction() as session:
                connection = session.connection()
                by_writer: dict[Writer[Any, Any], list[_Job[Any, Any]]] = {}
                for job in batch:
                    by_writer.setdefault(job.write, []).append(job)
                for write, jobs in by_writer.items():
                    results = _results(write, connection, [job.plan for job in jobs])
                    outcomes.extend(zip(jobs, results, strict=True))
        except Exception as exc:
            if len(batch) == 1:
                self._settle([(batch[0], exc)])
                return
            log.warning(
                "group commit: a batch of %d failed (%s); running each job alone",
                len(batch),
                type(exc).__name__,
            )
            for job in batch:
                self._run_batch([job])  # alone: its own failure is settled above
            return
        self.batches += 1
        self._settle(outcomes)

    def _settle(self, outcomes: list[tuple[_Job[Any, Any], Any]]) -> None:
        """Hand each job its result, or its exception (raised or returned)."""
        for job, value in outcomes:
            if isinstance(value, BaseException):
                job.future.set_exception(value)
            else:
                self.jobs += 1
                job.future.set_result(value)


def _results(
    write: Writer[Any, T], connection: Connection, plans: list[Any]
) -> Sequence[T | BaseException]:
    """``write``'s results, one per plan (a writer that breaks that fails the batch)."""
    results = write(connection, plans)
    if len(results) != len(plans):
        name = getattr(write, "__qualname__", repr(write))
        raise RuntimeError(f"{name} returned {len(results)} results for {len(plans)} jobs")
    return results
