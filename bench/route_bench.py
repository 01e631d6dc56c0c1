"""In-process cost of the staff record routes, as a ratio to ``GET /healthz``.

Calls the ASGI app directly (no sockets, no HTTP client), so the figure is the framework
and the route's own work: authentication from the token cache, the typed dependencies,
the use case and its audit entry, the JSON answer. Each round measures every route in
turn, so a slow spell of a shared machine hits the baseline as well; medians are printed.

    .venv/bin/python bench/route_bench.py --n 2000 --rounds 5

``--src DIR`` puts another checkout's ``src`` first on the path, to compare a commit
before a change with the one after it on the same machine in the same minute (the
checkout needs this layout of the use cases: issue 10 or later, since the seed is
``api_bench.seed``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Call = Callable[[], Awaitable[int]]


def asgi_get(
    app: Any,
    path: str,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    ok: tuple[int, ...] = (200,),
) -> Call:
    """One GET of ``path`` (with its query string) straight into the ASGI app, with a
    bearer ``token`` and/or other ``headers``; returns 200 when the answer's status is
    one of ``ok``, else that status."""
    raw_path, _, query = path.partition("?")
    sent = {**({"authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench.local")]
        + [(k.encode(), v.encode()) for k, v in sent.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> int:
        status = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope), receive, send)
        return 200 if status in ok else status

    return call


async def rate(call: Call, n: int) -> float:
    """Requests per second over ``n`` sequential calls (each must answer 200)."""
    start = time.perf_counter()
    for _ in range(n):
        status = await call()
        if status != 200:
            raise SystemExit(f"a bench request answered {status}")
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="requests per route per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the checkout's src")
    parser.add_argument("--valuesets", type=Path, default=ROOT.parent / "shared" / "valuesets")
    args = parser.parse_args()
    sys.path.insert(0, str(args.src.resolve()))

    from needlewise.config import Settings
    from needlewise.web.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="route-bench-"))
    settings = Settings(
        database_url=f"sqlite:///{folder / 'bench.sqlite'}",
        valuesets_dir=args.valuesets if args.valuesets.is_dir() else None,
        secret_key="bench-secret",
        nlp_warmup=False,
    )
    app = create_app(settings)  # makes the schema; the seed then writes beside it
    from api_bench import seed  # the same synthetic clinic as the HTTP benchmark

    token, patient_id = seed(settings)
    routes = {
        "healthz": asgi_get(app, "/healthz", token),
        "GET patient": asgi_get(app, f"/api/patients/{patient_id}", token),
        "GET patients": asgi_get(app, "/api/patients", token),
        "GET auth/me": asgi_get(app, "/api/auth/me", token),
    }

    async def run() -> dict[str, list[float]]:
        found: dict[str, list[float]] = {name: [] for name in routes}
        for call in routes.values():  # warm every route (caches, first imports)
            await rate(call, 50)
        for _ in range(args.rounds):
            for name, call in routes.items():
                found[name].append(await rate(call, args.n))
        return found

    found = asyncio.run(run())
    import needlewise

    base = statistics.median(found["healthz"])
    print(f"src: {Path(needlewise.__file__).parent}")
    print(f"{'route':<14} {'median req/s':>12} {'ratio to healthz':>17}")
    for name, rates in found.items():
        median = statistics.median(rates)
        print(f"{name:<14} {median:>12,.0f} {median / base:>17.3f}")


if __name__ == "__main__":
    main()
