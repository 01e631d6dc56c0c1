"""Where an ``order-select`` call's time goes, stage by stage, in one process (no HTTP).

Builds the app as the server does (``create_app`` on a fresh SQLite database with one
clinic and the bench's CDS client), then times, ``--n`` times each on the bench's body
(:mod:`order_select_body`), the steps the CDS Hooks route and ``answer_hook`` take, in
their order, and the whole ``answer_hook`` call; with ``--cprofile`` it also prints the
top functions of ``answer_hook`` by cumulative time. Stages are called one after the
other from a single thread, so the write stage has no group commit to share (under load
the calls of a burst share a commit): it is an upper bound.

Run: ``cd bench && ../.venv/bin/python cds_hooks_profile.py [--alg RS384] [--cprofile]``.
The stage list follows the code of ``needlewise.services.cds_hooks`` as of this bench;
when that changes, the total still holds and a stage may need updating here.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from cds_bench_tokens import ALGORITHMS, BenchSigner
from needlewise.config import Settings
from needlewise.domain.facts import PatientFacts
from needlewise.domain.screening import screen
from needlewise.interop.cds_hooks import contexts, orders, prefetch
from needlewise.interop.cds_hooks.cards import CardContext, build_cards
from needlewise.interop.cds_hooks.models import CdsRequest, parse
from needlewise.interop.fhir.bundle import read_screening_document
from needlewise.persistence.migrate import upgrade
from needlewise.services import cds_hooks
from needlewise.services.cds_caller import CdsCaller
from needlewise.services.cds_writer import CallPlan, write_calls
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.documents import parse_json
from needlewise.services.runtime import Runtime
from needlewise.web.app import create_app
from order_select_body import order_select_request

BASE = "http://127.0.0.1:8000"
SERVICE = "needlewise-order-select"
BURST = 16  # the benchmark's connections


def per_call_us(n: int, step: Callable[[], Any], per: int = 1) -> tuple[float, float]:
    """Mean wall and CPU microseconds (CPU: every thread of the process, the writer's
    included) of ``step`` over ``n`` calls, after one call to warm it; ``per``: calls
    each step stands for."""
    step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    calls = n * per
    return (time.perf_counter() - wall) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


def no_fetch(query: str) -> Any:
    raise AssertionError(f"the bench's prefetch is complete; nothing may be fetched ({query})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="calls per stage")
    parser.add_argument("--alg", choices=ALGORITHMS, default="ES384")
    parser.add_argument("--valuesets", type=Path, default=Path("../../shared/valuesets"))
    parser.add_argument("--cprofile", action="store_true", help="also profile answer_hook")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="needlewise-cds-profile-"))
    signer = BenchSigner(args.alg)
    database_url = f"sqlite:///{folder / 'profile.sqlite'}"
    upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        secret_key="bench-secret",
        valuesets_dir=args.valuesets if args.valuesets.is_dir() else None,
        cds_clients_file=signer.write_clients_file(folder / "clients.json"),
        cds_base_url=BASE,
    )
    clinic_id = create_clinic(Runtime.build(settings), ClinicIn(name="Bench Clinic"))
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    kb = runtime.kb
    verifier = app.state.cds_door.verifier
    audience = f"{BASE}/cds-services/{SERVICE}"
    tokens = iter([signer.token(audience) for _ in range(args.n + 1)])
    body = orjson.dumps(order_select_request())
    request = orjson.loads(body)
    call = parse(CdsRequest, request)
    context = contexts.parse_context(call.hook, call.context)
    assert isinstance(context, contexts.OrderSelectContext)
    planned = orders.in_orders(kb, context.draftOrders, context.selections)
    gathered = prefetch.gather(kb, call.prefetch, call.context, no_fetch, call.fhirServer)
    data = read_screening_document(gathered.bundle, kb)

    def facts() -> PatientFacts:
        return PatientFacts(
            as_of=date.today(),
            answers=MappingProxyType(dict(data.answers)),
            records=tuple(data.records),
            birth_date=data.birth_date,
            birth_date_recorded=data.birth_date_recorded,
            patient_reference=data.patient_reference,
            electrical_stimulation=None,
        )

    result = screen(facts(), kb, "en")
    card_context = CardContext(
        base_url=BASE,
        hook=call.hook,
        planned=tuple(planned),
        checked=("bench",),
        not_shared=tuple(gathered.missing),
    )
    issued = build_cards(kb, result, card_context)

    def caller() -> CdsCaller:
        expires = datetime.now(UTC) + timedelta(minutes=5)
        return CdsCaller("https://ehr.bench.example", clinic_id, uuid.uuid4().hex, expires)

    identifiers = cds_hooks._identifiers(gathered.bundle)

    def plan(with_identifiers: bool = True) -> CallPlan:
        return CallPlan(
            caller=caller(),
            service_id=SERVICE,
            hook=call.hook,
            hook_instance=call.hookInstance,
            cards=[
                {
                    "uuid": str(uuid.uuid4()),
                    "indicator": c.card["indicator"],
                    "summary": c.card["summary"],
                    "rules": c.rules,
                }
                for c in issued
            ],
            identifiers=identifiers if with_identifiers else [],
        )

    def write() -> Any:
        return runtime.db.group.run(plan(), write_calls)

    def write_bare() -> Any:
        return runtime.db.group.run(plan(with_identifiers=False), write_calls)

    def burst() -> Any:
        """16 calls' writes at once, as 16 connections send them: one group commit."""
        futures = [runtime.db.group.submit(plan(), write_calls) for _ in range(BURST)]
        return [future.result() for future in futures]

    def answer() -> Any:
        return cds_hooks.answer_hook(
            runtime, kb, SERVICE, orjson.loads(body), caller(), no_fetch, base_url=BASE
        )

    stages: list[tuple[str, Callable[[], Any]]] = [
        ("orjson.loads of the body (the parse-only floor)", lambda: orjson.loads(body)),
        ("parse_json: strict JSON (route)", lambda: parse_json(body)),
        (f"JWT verify, {args.alg} (door)", lambda: verifier.check(next(tokens), audience)),
        ("CdsRequest model (pydantic)", lambda: parse(CdsRequest, request)),
        ("context model", lambda: contexts.parse_context(call.hook, call.context)),
        (
            "dry needling in the draft orders",
            lambda: orders.in_orders(kb, context.draftOrders, context.selections),
        ),
        (
            "prefetch gathered into one Bundle",
            lambda: prefetch.gather(kb, call.prefetch, call.context, no_fetch, call.fhirServer),
        ),
        ("read_screening_document", lambda: read_screening_document(gathered.bundle, kb)),
        ("screen (rules)", lambda: screen(facts(), kb, "en")),
        ("build_cards", lambda: build_cards(kb, result, card_context)),
        ("write: jti + cards + audit, one call per commit", write_bare),
        ("write, the same + chart lookup by the identifiers", write),
        (
            "orjson.dumps of the answer",
            lambda: orjson.dumps({"cards": [c.card for c in issued]}),
        ),
    ]
    print(f"cds_hooks_profile: {len(body):,}-byte order-select body, {args.n} calls per stage")
    print(f"  {'stage (per call)':<52}{'wall us':>9}{'cpu us':>9}")
    for name, step in stages:
        wall, cpu = per_call_us(args.n, step)
        print(f"  {name:<52}{wall:>9,.0f}{cpu:>9,.0f}")
    wall, cpu = per_call_us(max(args.n // BURST, 5), burst, per=BURST)
    print(f"  {f'write, {BURST} calls sharing one commit':<52}{wall:>9,.0f}{cpu:>9,.0f}")
    wall, cpu = per_call_us(args.n, answer)
    print(f"  {'answer_hook, whole (one commit per call)':<52}{wall:>9,.0f}{cpu:>9,.0f}")
    with ThreadPoolExecutor(BURST) as pool:  # as the route calls it: worker threads

        def answers() -> Any:
            return list(pool.map(lambda _: answer(), range(BURST)))

        batches, jobs = runtime.db.group.batches, runtime.db.group.jobs
        wall, cpu = per_call_us(max(args.n // BURST, 5), answers, per=BURST)
        shared = (runtime.db.group.jobs - jobs) / max(runtime.db.group.batches - batches, 1)
    label = f"answer_hook, {BURST} at a time in threads ({shared:.1f}/commit)"
    print(f"  {label:<52}{wall:>9,.0f}{cpu:>9,.0f}")
    if args.cprofile:
        profile = cProfile.Profile(time.thread_time)  # this thread's CPU (not the writer's)
        profile.runcall(lambda: [answer() for _ in range(args.n)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    runtime.db.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
