"""In-process cost of the staff record routes, as a ratio to ``GET /healthz``.

Calls the ASGI app directly (no sockets, no HTTP client), so the figure is the framework
and the route's own work: authentication from the token cache, the typed dependencies,
the use case and its audit entry, the JSON answer. Each round measures every route in
turn, so a slow spell of a shared machine hits the baseline as well; medians are printed.

    .venv/bin/python bench/route_bench.py --n 2000 --rounds 5

``--src DIR`` puts another checkout's ``src`` first on the path, to compare a commit
before a change with the one after it on the same machine in the same minute.
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


def asgi_get(app: Any, path: str, token: str) -> Call:
    """One GET of ``path`` straight into the ASGI app; returns the status."""
    headers = [(b"host", b"bench.local"), (b"authorization", f"Bearer {token}".encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
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
        return status

    return call


def seed(app: Any) -> tuple[str, int]:
    """A clinic, a clinician with an API token and one patient (synthetic)."""
    from needlewise.security.roles import Role
    from needlewise.services.actor import Actor
    from needlewise.services.clinic import ClinicIn, create_clinic
    from needlewise.services.patients import PatientIn, create_patient

    try:  # this checkout
        from needlewise.services.api_tokens import mint_api_token
        from needlewise.services.users import UserIn, create_user
    except ImportError:  # a checkout from before services/accounts.py was split
        from needlewise.services.accounts import (  # type: ignore[import-not-found,no-redef]
            UserIn,
            create_user,
            mint_api_token,
        )

    runtime = app.state.runtime
    clinic_id = create_clinic(runtime, ClinicIn(name="Bench Clinic"))
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
    user = create_user(
        runtime,
        system,
        UserIn(
            email="bench@clinic.example",
            name="Bench",
            role=Role.clinician,
            password="x" * 8 + "Bench-2026!",
        ),
    )
    actor = Actor(ref=f"user:{user.id}", user_id=user.id, role=Role.clinician, clinic_id=clinic_id)
    token, _ = mint_api_token(runtime, actor, days=1)
    patient = create_patient(runtime, actor, PatientIn(given_name="Bench", family_name="Synthetic"))
    return token, patient.id


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
    app = create_app(settings)
    token, patient_id = seed(app)
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
