"""Escalation costs, in process (issue 13): what alerting the clinic adds to a check-in,
how fast the sweep writes repeats, and what the today list's poll costs when nothing
changed.

* **check-in**: ``record_check_in`` of an emergency check-in (triage, insert, its
  clinic alert and ``next_alert_at`` in the same transaction) against a self-care one
  (triage, insert, no alert), interleaved in the same run; the ratio is the cost of the
  alert plus the difference of the two triages.
* **sweep**: ``repeat_due_alerts`` over N due check-ins (one repeat each): repeats per
  second.
* **poll**: the today list's unchanged poll (``check_in_queue.queue_state``: a digest,
  no patient data, nothing audited) against what a changed poll reads
  (``list_check_ins`` of the queue, audited, plus the alert counts).

Usage: ``python bench/escalation_bench.py [--n 200] [--database-url URL]`` (default: a
fresh SQLite file). Prints medians per operation and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="check-ins of each kind")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--valuesets", type=Path, default=ROOT.parent / "shared" / "valuesets")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))

    from sqlalchemy import func, select

    from needlewise.config import Settings
    from needlewise.demo import LOGINS, load_demo
    from needlewise.persistence.models import CheckIn, Patient, User
    from needlewise.security.roles import Role
    from needlewise.services import check_in_queue, check_in_review, check_ins, escalation
    from needlewise.services.actor import Actor
    from needlewise.services.paging import PageParams
    from needlewise.startup import start

    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    settings = Settings(
        database_url=url,
        valuesets_dir=args.valuesets if args.valuesets.is_dir() else None,
        secret_key="bench-secret",
        nlp_warmup=False,
    )
    runtime = start(settings)
    load_demo(runtime)
    with runtime.db.read() as tx:
        user = tx.scalar(select(User).where(User.email == LOGINS[1].email))
        assert user is not None
        found = tx.scalar(select(Patient.id).where(Patient.family_name == "Demo-Treated"))
    assert found is not None
    patient: int = found
    clinician = Actor(
        ref=f"user:{user.id}", user_id=user.id, role=Role.clinician, clinic_id=user.clinic_id
    )
    answers = {
        "emergency": {"symptoms": ["symptom.chest-pain"], "hours_since_treatment": 3.0},
        "self-care": {"symptoms": ["symptom.soreness"], "hours_since_treatment": 20.0},
    }
    for kind in answers:  # warm up both paths
        check_ins.record_check_in(runtime, clinician, patient, answers[kind])
    times: dict[str, list[float]] = {kind: [] for kind in answers}

    def record(document: dict[str, Any]) -> None:
        check_ins.record_check_in(runtime, clinician, patient, document)

    for _ in range(args.n):
        for kind, document in answers.items():
            start_at = time.perf_counter()
            record(document)
            times[kind].append(time.perf_counter() - start_at)
    emergency, self_care = (statistics.median(times[k]) * 1000 for k in answers)
    print(f"database: {runtime.db.engine.dialect.name}, {args.n} check-ins of each kind")
    print(f"check-in, emergency (with its alert): {emergency:.2f} ms median")
    print(f"check-in, self-care (no alert):       {self_care:.2f} ms median")
    print(f"  ratio emergency / self-care: {emergency / self_care:.2f}x")

    with runtime.db.read() as tx:
        due_at = tx.scalar(select(func.max(CheckIn.next_alert_at)))
        waiting = tx.scalar(select(func.count()).where(CheckIn.next_alert_at.is_not(None))) or 0
    assert due_at is not None
    seconds = timed(lambda: escalation.repeat_due_alerts(runtime, due_at))
    print(f"sweep: {waiting} repeats in {seconds * 1000:.0f} ms = {waiting / seconds:.0f}/s")

    page = PageParams(limit=100)
    polls: dict[str, list[float]] = {"unchanged": [], "changed": []}

    def changed() -> None:
        listed = check_in_review.list_check_ins(runtime, clinician, page, unacknowledged=True)
        escalation.alert_statuses(runtime, [c.id for c in listed.items])

    for _ in range(50):
        polls["unchanged"].append(
            timed(lambda: check_in_queue.queue_state(runtime, clinician, 100))
        )
        polls["changed"].append(timed(changed))
    unchanged, full = (statistics.median(polls[k]) * 1000 for k in polls)
    print(f"poll, unchanged (digest, 204):        {unchanged:.2f} ms median")
    print(f"poll, changed (queue read + audited): {full:.2f} ms median")
    print(f"  ratio unchanged / changed: {unchanged / full:.2f}x")
    runtime.db.dispose()


if __name__ == "__main__":
    main()
