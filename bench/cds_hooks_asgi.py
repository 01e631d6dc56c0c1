"""The CDS Hooks benchmark's endpoints called straight into the ASGI app (no sockets).

Builds the same app as the HTTP benchmark (:func:`cds_bench_app.create`, fresh SQLite
database, one clinic, the bench's signing key registered) and sends the bench's
``order-select`` body to each endpoint ``--concurrency`` calls at a time (as many as the
HTTP benchmark's connections, so group commits are shared the same way), each call with
a new JWT. Prints the process CPU per call (every thread: the event loop, the worker
threads, the group-commit writer) and the wall time per call, so the gap between ours and
the parse-only endpoints is measured without wrk or uvicorn sharing the CPU, and the time
spent in the garbage collector. With
``--cprofile`` it then profiles the event-loop thread on our endpoint (its CPU clock; the
use case itself runs in worker threads: see ``cds_hooks_profile.py`` for its stages).

Run: ``cd bench && ../.venv/bin/python cds_hooks_asgi.py [--alg RS384] [--cprofile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from cds_bench_app import PARSE_ONLY_LAST_PATH, PARSE_ONLY_PATH, create
from cds_bench_tokens import ALGORITHMS, BenchSigner
from needlewise.config import Settings
from needlewise.persistence.migrate import upgrade
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.runtime import Runtime
from order_select_body import order_select_request

BASE = "http://bench.local"
SERVICE_PATH = "/cds-services/needlewise-order-select"
Call = Callable[[str], Awaitable[int]]


def asgi_post(app: Any, path: str, body: bytes) -> Call:
    """One POST of ``body`` to ``path`` straight into ``app`` with a bearer token;
    returns the answer's status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("bench.local", 80),
    }
    headers = [
        (b"host", b"bench.local"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def call(token: str) -> int:
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        sent = [*headers, (b"authorization", f"Bearer {token}".encode())]
        await app({**scope, "headers": sent}, receive, send)
        return status

    return call


class GcClock:
    """Time spent in the garbage collector (all threads), by generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._started
            self.counts[info["generation"]] += 1

    def reset(self) -> None:
        self.seconds, self.counts = [0.0, 0.0, 0.0], [0, 0, 0]


GC = GcClock()


async def measure(call: Call, tokens: list[str], concurrency: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call over ``tokens``, ``concurrency`` calls at a time."""
    GC.reset()
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(tokens), concurrency):
        statuses = await asyncio.gather(*(call(t) for t in tokens[start : start + concurrency]))
        if any(status != 200 for status in statuses):
            raise SystemExit(f"a call answered {sorted(set(statuses))}")
    n = len(tokens)
    return (time.process_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=800, help="calls per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--alg", choices=ALGORITHMS, default="ES384")
    parser.add_argument("--valuesets", type=Path, default=Path("../../shared/valuesets"))
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument(
        "--gc-threshold",
        default="",
        help="what-if: gc.set_threshold(...) before the calls, e.g. 50000,20,100",
    )
    parser.add_argument(
        "--cds-first", action="store_true", help="what-if: the CDS Hooks router first"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="needlewise-cds-asgi-"))
    signer = BenchSigner(args.alg)
    database_url = f"sqlite:///{folder / 'asgi.sqlite'}"
    upgrade(database_url)
    create_clinic(
        Runtime.build(Settings(database_url=database_url, secret_key="bench-secret")),
        ClinicIn(name="Bench Clinic"),
    )
    os.environ.update(
        NEEDLEWISE_DATABASE_URL=database_url,
        NEEDLEWISE_SECRET_KEY="bench-secret",
        NEEDLEWISE_VALUESETS_DIR=str(args.valuesets) if args.valuesets.is_dir() else "",
        NEEDLEWISE_CDS_CLIENTS_FILE=str(signer.write_clients_file(folder / "clients.json")),
        NEEDLEWISE_CDS_BASE_URL=BASE,
        NEEDLEWISE_NLP_WARMUP="false",
        NEEDLEWISE_BENCH_CDS_FIRST="1" if args.cds_first else "",
    )
    app = create()
    if args.gc_threshold:
        gc.set_threshold(*(int(n) for n in args.gc_threshold.split(",")))
    body = orjson.dumps(order_select_request())
    calls = {
        "parse-only": asgi_post(app, PARSE_ONLY_PATH, body),
        "parse-only-last": asgi_post(app, PARSE_ONLY_LAST_PATH, body),
        "ours": asgi_post(app, SERVICE_PATH, body),
    }
    audience = BASE + SERVICE_PATH

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for name, call in calls.items():
                await measure(call, [signer.token(audience) for _ in range(32)], 16)  # warm
                tokens = [signer.token(audience) for _ in range(args.n)]
                cpu, wall = await measure(call, tokens, args.concurrency)
                gc_ms = sum(GC.seconds) * 1000 / args.n
                collections = "/".join(
                    f"{n} ({t * 1000 / max(n, 1):.1f} ms each)"
                    for n, t in zip(GC.counts, GC.seconds, strict=True)
                )
                print(
                    f"  {name:<17} cpu {cpu:6.2f} ms/call   wall {wall:6.2f} ms/call   "
                    f"gc {gc_ms:5.2f} ms/call (collections by generation {collections})"
                )
            if args.cprofile:
                tokens = [signer.token(audience) for _ in range(args.n)]
                profile = cProfile.Profile(time.thread_time)
                profile.enable()
                await measure(calls["ours"], tokens, args.concurrency)
                profile.disable()
                stats = pstats.Stats(profile)
                stats.sort_stats("cumulative").print_stats(45)

    print(
        f"cds_hooks_asgi: {len(body):,}-byte order-select, {args.alg}, {args.n} calls per "
        f"endpoint, {args.concurrency} at a time, in process"
        + (", CDS Hooks router moved first" if args.cds_first else "")
        + (f", gc thresholds {gc.get_threshold()}" if args.gc_threshold else "")
    )
    try:
        asyncio.run(run())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
