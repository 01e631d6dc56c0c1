"""The worker on both queue backends, and a worker process killed mid-queue.

Every test counts what a real SMTP server on loopback received: each message's
Message-ID exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from needlewise.jobs.port import QueueJobs
from needlewise.jobs.worker import build_worker, unusable_queue
from needlewise.services import delivery
from support.outbound import add_message, add_patient, message
from support.service import Service
from support.smtp import SmtpServer, smtp_server
from support.waiting import wait_until


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def _messages(service: Service, count: int) -> list[int]:
    patient_id, link_id = add_patient(service.runtime, service.clinic_id)
    return [
        add_message(service.runtime, service.clinic_id, patient_id, link_id) for _ in range(count)
    ]


def _expected(service: Service, ids: list[int]) -> Counter[str]:
    return Counter(delivery.message_id_of(message(service.runtime, m).idempotency_key) for m in ids)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_the_consumer_sends_every_due_message_once(
    service: Service, smtp: SmtpServer, tmp_path: Path, backend: str
) -> None:
    settings = service.runtime.settings.model_copy(
        update={
            "worker_backend": backend,
            "worker_queue_file": tmp_path / "queue.db",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "worker_threads": 3,
        }
    )
    if backend == "redis" and unusable_queue(settings) is not None:
        pytest.fail("Redis on 127.0.0.1:6379 is required for this test")
    name = f"nw-test-{uuid.uuid4().hex[:10]}"  # its own Redis keys: tests never collide
    worker = build_worker(settings, name=name, runtime_factory=lambda: service.runtime)
    ids = _messages(service, 12)
    consumer = worker.huey.create_consumer(workers=3, worker_type="thread", periodic=False)
    consumer.start()
    try:
        assert worker.sweep() == 12
        assert worker.sweep() == 0  # queued already: not queued again
        wait_until(lambda: len(smtp.received) >= 12, "12 messages at the SMTP server")
        # the web app's port: a wake for a message due now reaches the same queue
        late = _messages(service, 1)
        QueueJobs(settings, worker).wake(datetime.now(UTC) - timedelta(seconds=1))
        wait_until(lambda: len(smtp.received) >= 13, "the woken message")
    finally:
        consumer.stop(graceful=True)
        worker.huey.flush()
    assert Counter(smtp.message_ids()) == _expected(service, ids + late)
    assert {message(service.runtime, m).state for m in ids + late} == {"sent"}


def test_the_sweep_runs_the_periodic_use_cases_with_its_clock(
    service: Service, tmp_path: Path
) -> None:
    settings = service.runtime.settings.model_copy(update={"worker_queue_file": tmp_path / "q.db"})
    calls: list[datetime] = []

    def repeat_due_alerts(runtime: Any, now: datetime) -> int:
        assert runtime is service.runtime
        calls.append(now)
        raise RuntimeError("a failing periodic step never stops the sweep")

    worker = build_worker(
        settings, runtime_factory=lambda: service.runtime, periodic=[repeat_due_alerts]
    )
    moment = datetime(2026, 3, 1, 13, tzinfo=UTC)
    ids = _messages(service, 2)
    assert worker.sweep(moment) == 2
    assert calls == [moment]
    assert sorted(worker._queued) == sorted(ids)
    worker.huey.flush()


def test_wake_never_raises_when_the_queue_is_down(service: Service) -> None:
    settings = service.runtime.settings.model_copy(
        update={"worker_backend": "redis", "redis_url": "redis://127.0.0.1:1/0"}
    )
    QueueJobs(settings).wake(datetime.now(UTC) + timedelta(hours=1))  # logs, returns


def _at_least(items: list[str], count: int) -> bool:
    return len(items) >= count


def _start_worker(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "needlewise.cli", "worker"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_killed_mid_queue_loses_and_duplicates_nothing(
    service: Service, smtp: SmtpServer, tmp_path: Path
) -> None:
    """SIGKILL at two exact points, each followed by a restart:

    1. inside the 4th SMTP transaction, after ``DATA`` and before the server's acceptance
       (the message was claimed, never accepted: the restarted worker sends it);
    2. at the ``MAIL FROM`` of the 9th transaction, right after the 8th send was
       recorded (between messages).
    The server counts every Message-ID exactly once."""
    settings = service.runtime.settings
    ids = _messages(service, 14)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
        "NEEDLEWISE_DATABASE_URL": settings.database_url,
        "NEEDLEWISE_SECRET_KEY": "test-secret-key",
        "NEEDLEWISE_SMTP_HOST": "127.0.0.1",
        "NEEDLEWISE_SMTP_PORT": str(smtp.port),
        "NEEDLEWISE_WORKER_BACKEND": "sqlite",
        "NEEDLEWISE_WORKER_QUEUE_FILE": str(tmp_path / "queue.db"),
        "NEEDLEWISE_WORKER_THREADS": "1",
        "NEEDLEWISE_WORKER_SWEEP_SECONDS": "1",
        "NEEDLEWISE_WORKER_CLAIM_TIMEOUT_SECONDS": "2",
    }
    if settings.valuesets_dir is not None:
        env["NEEDLEWISE_VALUESETS_DIR"] = str(Path(settings.valuesets_dir).resolve())
    process: dict[str, subprocess.Popen[bytes]] = {}
    killed: list[str] = []

    def kill(point: str) -> None:
        os.kill(process["worker"].pid, signal.SIGKILL)
        killed.append(point)

    def on_data(n: int) -> str | None:
        if n == 4:
            kill("in DATA, before acceptance")
            return "421 4.3.0 going away"
        return None

    def on_mail(n: int) -> None:
        if n == 10:  # the 4th attempt counts once more: this is the 9th message
            kill("at MAIL FROM, between messages")

    smtp.set_hooks(on_data=on_data, on_mail=on_mail)
    process["worker"] = _start_worker(env, tmp_path)
    try:
        for expected_kills in (1, 2):
            wait_until(partial(_at_least, killed, expected_kills), f"kill {expected_kills}", 60)
            process["worker"].wait(timeout=30)
            assert process["worker"].returncode == -signal.SIGKILL
            process["worker"] = _start_worker(env, tmp_path)
        wait_until(lambda: len(smtp.received) >= 14, "all 14 messages", 90)
        wait_until(
            lambda: all(message(service.runtime, m).state == "sent" for m in ids),
            "every row recorded as sent",
        )
    finally:
        process["worker"].send_signal(signal.SIGINT)
        try:
            process["worker"].wait(timeout=30)
        except subprocess.TimeoutExpired:
            process["worker"].kill()
    assert killed == ["in DATA, before acceptance", "at MAIL FROM, between messages"]
    assert Counter(smtp.message_ids()) == _expected(service, ids)
