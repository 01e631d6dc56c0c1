"""The worker's throughput: messages per second to a loopback SMTP server, on both queue
backends, and the share of its time spent outside SMTP.

Builds a fresh SQLite database with one synthetic clinic, patient and check-in link,
writes ``--messages`` due check-in rows, starts an aiosmtpd server on 127.0.0.1 (it
counts and drops what it receives), then measures, in one run:

* **raw smtplib** — the same emails (already rendered) sent one connection each with
  ``smtplib`` and nothing else: the SMTP floor;
* **deliver, 1 thread** — ``services/delivery.py`` sending every row in turn (claim,
  render, send, record: two write transactions per message), no queue;
* **queue ``sqlite`` / ``redis``** — the huey consumer (``--threads`` threads) after one
  sweep: *scheduling* is how fast the sweep queues the ``deliver`` tasks, *sending* the
  time until every row is recorded as sent.

Prints messages per second and the ratios to raw smtplib; "outside SMTP" is
``1 - raw time / deliver time`` of the one-thread runs. Rows are reset to ``scheduled``
between runs (fresh keys), so every run sends the same number of emails. Bounded: a run
that does not finish in ``--timeout`` seconds is reported as such.

Run: ``.venv/bin/python bench/worker_bench.py [--messages 300] [--threads 2]
[--synchronous normal]``.
Needs Redis on 127.0.0.1:6379 for the redis row (skipped with a note otherwise).
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from needlewise.config import Settings
from needlewise.jobs.smtp import SmtpSender, build_email
from needlewise.jobs.worker import build_worker, unusable_queue
from needlewise.persistence.migrate import upgrade
from needlewise.persistence.models.aftercare import OutboundMessage
from needlewise.persistence.models.clinical import Patient, PatientLink
from needlewise.services import delivery
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.runtime import Runtime
from needlewise.startup import start

PAST = datetime(2026, 1, 1, tzinfo=UTC)


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seed(runtime: Runtime, count: int) -> None:
    clinic_id = create_clinic(runtime, ClinicIn(name="Bench Clinic", phones=["555-0100"]))
    with runtime.db.write() as tx:
        patient = Patient(clinic_id=clinic_id, given_name="Bench", family_name="Synthetic",
                          email="bench@example.org")  # fmt: skip
        tx.add(patient)
        tx.flush()
        link = PatientLink(patient_id=patient.id, purpose="check-in", created_by="system",
                           expires_at=PAST + timedelta(days=3650))  # fmt: skip
        tx.add(link)
        tx.flush()
        for n in range(count):
            tx.add(OutboundMessage(
                clinic_id=clinic_id, patient_id=patient.id, link_id=link.id, kind="check-in",
                channel="email", language="en" if n % 2 else "es", due_at=PAST,
                state="scheduled", idempotency_key=f"bench:{n}",
                params={"rule": "aftercare.check-in-24h", "hours_after": 24, "thoracic": n % 3 == 0},
            ))  # fmt: skip


def reset(runtime: Runtime) -> None:
    tag = uuid.uuid4().hex[:8]
    with runtime.db.write() as tx:
        tx.execute(
            update(OutboundMessage).values(
                state="scheduled", attempts=0, claimed_at=None, sent_at=None, due_at=PAST,
                idempotency_key=func.concat(OutboundMessage.idempotency_key, f":{tag}")
                if not runtime.db.sqlite else OutboundMessage.idempotency_key + f":{tag}",
            )
        )  # fmt: skip


def sent(runtime: Runtime) -> int:
    with runtime.db.read() as tx:
        query = select(func.count()).where(OutboundMessage.state == "sent")
        return int(tx.scalar(query) or 0)


def raw_smtplib(runtime: Runtime, settings: Settings, count: int) -> float:
    """Send ``count`` rendered emails with bare smtplib (one connection each)."""
    sender = SmtpSender(settings)
    ids = delivery.due_message_ids(runtime, None, count)
    emails = []
    with runtime.db.read() as tx:
        for message_id in ids:
            row = tx.get(OutboundMessage, message_id)
            assert row is not None
            email, _ = delivery.prepare_email(runtime, tx, row)
            assert email is not None
            emails.append(build_email(email, settings.smtp_from))
    began = time.perf_counter()
    for message in emails:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
        client.send_message(message)
        client.quit()
    del sender
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--synchronous",
        choices=["full", "normal"],
        default="full",
        help="NEEDLEWISE_SQLITE_SYNCHRONOUS of the bench database (full: one fsync per commit)",
    )
    args = parser.parse_args()
    n = args.messages
    counter = Counter()
    port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        upgrade(url)
        settings = Settings(database_url=url, secret_key="bench", smtp_host="127.0.0.1",
                            smtp_port=port, worker_queue_file=Path(folder) / "queue.db",
                            worker_threads=args.threads,
                            sqlite_synchronous=args.synchronous)  # fmt: skip
        runtime = start(settings)
        seed(runtime, n)
        results: dict[str, float] = {}

        results["raw smtplib"] = raw_smtplib(runtime, settings, n)

        reset(runtime)
        sender = SmtpSender(settings)
        began = time.perf_counter()
        counts = delivery.deliver_due(runtime, sender, limit=n)
        results["deliver, 1 thread"] = time.perf_counter() - began
        assert counts == {"sent": n}, counts

        for backend in ("sqlite", "redis"):
            chosen = settings.model_copy(update={"worker_backend": backend})
            if backend == "redis" and unusable_queue(chosen) is not None:
                print("redis: skipped (no Redis at", chosen.redis_url + ")")
                continue
            reset(runtime)
            worker = build_worker(chosen, name=f"nw-bench-{uuid.uuid4().hex[:8]}",
                                  runtime_factory=lambda: runtime)  # fmt: skip
            worker.huey.flush()
            consumer = worker.huey.create_consumer(
                workers=args.threads, worker_type="thread", periodic=False
            )
            began = time.perf_counter()
            queued = worker.sweep()
            results[f"{backend} scheduling"] = time.perf_counter() - began
            consumer.start()
            deadline = began + args.timeout
            while sent(runtime) < n and time.perf_counter() < deadline:
                time.sleep(0.005)
            results[f"{backend} sending"] = time.perf_counter() - began
            consumer.stop(graceful=True)
            worker.huey.flush()
            done = sent(runtime)
            if done < n or queued != n:
                print(f"{backend}: only {done} of {n} sent in {args.timeout:g} s (queued {queued})")
        runtime.db.dispose()
    controller.stop()

    raw = results["raw smtplib"]
    print(
        f"messages: {n}, consumer threads: {args.threads}, SQLite synchronous "
        f"{args.synchronous}; SMTP server received {counter.count}"
    )
    print(f"{'run':<22} {'seconds':>8} {'msg/s':>9} {'x raw smtplib':>14}")
    for name, seconds in results.items():
        ratio = "" if "scheduling" in name else f"{raw / seconds:>14.2f}"
        print(f"{name:<22} {seconds:>8.3f} {n / seconds:>9.0f} {ratio}")
    outside = 1 - raw / results["deliver, 1 thread"]
    print(f"share of the one-thread delivery time spent outside SMTP: {outside:.0%}")


if __name__ == "__main__":
    main()
