"""HTTP load on loopback: screening and check-in writes vs a trivial endpoint, same server.

Starts ``needlewise`` under uvicorn on a free port against a fresh database (SQLite by
default, or ``--database-url``), seeds a clinic, a clinician with an API token and a
patient, then drives it with ``wrk`` (bounded in time) at ``--connections``:

* ``GET /healthz`` — the trivial baseline (no auth, no database);
* ``POST /api/screen`` with an intake response that answers nothing — the floor of any
  screening request (auth, body, routing, query, answer; almost no screening);
* ``POST /api/screen`` with an answered intake QuestionnaireResponse (the clinic's own
  flow: what a patient's intake form sends; 18 answers, 2.6 KiB) and with a synthetic
  30-resource EHR Bundle (16.5 KiB; bearer token);
* ``POST /api/patients/{id}/check-ins`` — a stored check-in (triage + insert + audit);
  ``check-in-key``: the same with a new ``Idempotency-Key`` on every request (the key is
  looked up and kept in the same transaction).

Runs ``--rounds`` rounds (3), each measuring every endpoint once in turn, and prints
the median req/s and p99 latency of each (and its worst p99), the median of the
per-round ratios to the baseline, and for check-ins the rows in the database against the
2xx responses wrk counted (none may be lost).
Targets (issue 3): screening >= 50% of the trivial req/s; p99 < 50 ms at 32 connections;
check-in writes >= 300/s on SQLite with none lost.

``--synchronous normal,full`` (SQLite) starts one server per durability setting, each on
its own fresh database, and measures them in turn within every round, so that the cost
of ``synchronous=FULL`` (one fsync per commit) shows as a ratio from one run; with
``--connections 1`` no two check-ins can share a commit, with 32 group commit shares it.

Run: ``make bench`` or ``.venv/bin/python bench/api_bench.py [--duration 10]``.
Needs Debian's ``wrk`` (``make bench`` installs it when missing). Synthetic data only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import orjson
from sqlalchemy import func, select

from needlewise.config import Settings
from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.knowledge.loader import load
from needlewise.persistence.migrate import upgrade
from needlewise.persistence.models import CheckIn
from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.api_tokens import mint_api_token
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.patients import PatientIn, create_patient
from needlewise.services.runtime import Runtime
from needlewise.services.users import UserIn, create_user
from screen_bench import make_bundle

ROOT = Path(__file__).resolve().parents[1]
# The smallest screening request: an intake response with no answers. Its rate is the
# ceiling for any screening request on this server (authentication, reading the body,
# routing, the query, writing the answer), so it shows how much of the gap to the
# trivial endpoint is screening itself and how much is being a POST with a body.
FLOOR = b'{"resourceType":"QuestionnaireResponse","status":"completed"}'


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p99_ms: float
    non_2xx: int
    errors: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(settings: Settings) -> tuple[str, int]:
    """A clinic, a clinician with an API token, and one patient. Returns (token, patient id)."""
    runtime = Runtime.build(settings)
    clinic_id = create_clinic(runtime, ClinicIn(name="Bench Clinic"))
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
    user = create_user(
        runtime,
        system,
        UserIn(
            email="bench@clinic.example",
            name="Bench",
            role=Role.clinician,
            password="bench password 1",
        ),
    )
    actor = Actor(ref=f"user:{user.id}", user_id=user.id, role=Role.clinician, clinic_id=clinic_id)
    token, _ = mint_api_token(runtime, actor, days=1)
    patient = create_patient(runtime, actor, PatientIn(given_name="Bench", family_name="Synthetic"))
    runtime.db.dispose()
    return token, patient.id


def lua_script(
    folder: Path,
    name: str,
    method: str,
    body: bytes | None,
    token: str | None,
    unique_key: bool = False,
) -> Path:
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = [==[{body.decode()}]==]")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    if token is not None:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if unique_key:  # a new Idempotency-Key per request (os.time keeps rounds apart)
        lines += [
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            '  wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d", os.time(), n)',
            "  return wrk.format()",
            "end",
        ]
    path = folder / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if match is None:
        return float("nan")
    number, unit = float(match.group(1)), match.group(2)
    return number / 1000 if unit == "us" else number * 1000 if unit == "s" else number


def run_wrk(url: str, script: Path, connections: int, duration: int) -> WrkResult:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
        "-s", str(script), url,
    ]  # fmt: skip
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=duration + 60
    ).stdout
    requests = re.search(r"(\d+) requests in ([\d.]+)(s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"\s99%\s+(\S+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if requests is None or rps is None or p99 is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    seconds = float(requests.group(2)) * (60 if requests.group(3) == "m" else 1)
    return WrkResult(
        requests=int(requests.group(1)),
        seconds=seconds,
        rps=float(rps.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=socket_errors.group(1) if socket_errors else "none",
    )


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not become ready within 60 s")


def count_check_ins(settings: Settings) -> int:
    runtime = Runtime.build(settings)
    with runtime.db.read() as session:
        count = session.scalar(select(func.count()).select_from(CheckIn)) or 0
    runtime.db.dispose()
    return count


@dataclass
class Target:
    """One server under test: its settings, address, seeded data and process."""

    label: str
    settings: Settings
    base: str
    token: str
    patient_id: int
    process: subprocess.Popen[bytes]


def start_server(
    label: str, database_url: str, valuesets: Path | None, workers: int, extra_env: dict[str, str]
) -> Target:
    """Migrate and seed ``database_url``, then start uvicorn on it (not yet ready)."""
    settings = Settings(
        database_url=database_url, valuesets_dir=valuesets, secret_key="bench-secret"
    )
    upgrade(database_url)
    token, patient_id = seed(settings)
    port = free_port()
    env = {
        **os.environ,
        "NEEDLEWISE_DATABASE_URL": database_url,
        "NEEDLEWISE_SECRET_KEY": "bench-secret",
        "NEEDLEWISE_VALUESETS_DIR": str(valuesets or ""),
        **extra_env,
    }
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", "needlewise.web.app:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--log-level", "warning",
        ],
        env=env,
        start_new_session=True,
    )  # fmt: skip
    return Target(label, settings, f"http://127.0.0.1:{port}", token, patient_id, process)


LABELS = {
    "trivial": "GET /healthz",
    "screen-floor": "POST /api/screen (nothing answered)",
    "screen-intake": "POST /api/screen (intake answers)",
    "screen-bundle": "POST /api/screen (30-resource Bundle)",
    "check-in": "POST …/check-ins",
    "check-in-key": "POST …/check-ins (Idempotency-Key)",
}


def report(target: Target, rounds: list[dict[str, WrkResult]], args: argparse.Namespace) -> None:
    """Print one server's medians, its targets and whether any check-in was lost."""
    rows = count_check_ins(target.settings)
    backend = "SQLite" if target.settings.database_url.startswith("sqlite") else "PostgreSQL"
    print(
        f"api_bench: {backend}{target.label}, {args.workers} worker(s), {args.connections} "
        f"connections, {args.rounds} round(s) of {args.duration} s per endpoint "
        "(medians; p99 also worst)"
    )
    print(
        f"  {'endpoint':<40}{'req/s':>10}{'p99 ms':>10}{'worst':>8}{'vs trivial':>12}{'non-2xx':>9}"
    )
    ratios: dict[str, float] = {}
    p99s: dict[str, float] = {}
    for name in rounds[0]:
        runs = [one[name] for one in rounds]
        ratios[name] = median(one[name].rps / one["trivial"].rps for one in rounds)
        p99s[name] = median(r.p99_ms for r in runs)
        print(
            f"  {LABELS[name]:<40}{median(r.rps for r in runs):>10,.0f}{p99s[name]:>10.1f}"
            f"{max(r.p99_ms for r in runs):>8.1f}{ratios[name]:>12.2f}"
            f"{sum(r.non_2xx for r in runs):>9}"
        )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    targets = []
    for name, label in (("screen-intake", "intake"), ("screen-bundle", "Bundle")):
        if name in ratios:
            ratio = ratios[name]
            targets.append(
                f"screening ({label}) >= 0.50 of trivial: {verdict(ratio >= 0.5)} ({ratio:.2f})"
            )
    for name, p99 in p99s.items():
        targets.append(f"p99 < 50 ms ({name}): {verdict(p99 < 50)} ({p99:.1f} ms)")
    writes = [name for name in ("check-in", "check-in-key") if name in ratios]
    if writes:
        runs = [one[name] for one in rounds for name in writes]
        ok_check_ins = sum(r.requests - r.non_2xx for r in runs)
        lost = max(0, ok_check_ins - rows)
        print(
            f"  check-ins acknowledged (2xx): {ok_check_ins}; rows in the database: {rows}; "
            f"lost: {lost} (up to {args.connections} per round may be in flight when wrk stops)"
        )
        for name in writes:
            rate = median(one[name].rps for one in rounds)
            targets.append(f"{name} >= 300/s: {verdict(rate >= 300)}")
        targets.append(f"none lost: {verdict(lost == 0)}")
    print("  targets: " + "; ".join(targets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds; each measures every endpoint once, in turn, so that a slow spell of a "
        "shared machine hits the baseline as well (medians are reported)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--valuesets", type=Path, default=ROOT.parent / "shared" / "valuesets")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated endpoints to measure besides the trivial one: "
        "screen-floor, screen-intake, screen-bundle, check-in, check-in-key (default: all)",
    )
    parser.add_argument(
        "--synchronous",
        default="",
        help="SQLite only: comma-separated NEEDLEWISE_SQLITE_SYNCHRONOUS values (full, "
        "normal) to compare in one run: one server each, on its own fresh database, "
        "measured in turn within every round (default: the setting's default)",
    )
    args = parser.parse_args()
    names = [
        "trivial",
        "screen-floor",
        "screen-intake",
        "screen-bundle",
        "check-in",
        "check-in-key",
    ]
    chosen = {"trivial", *filter(None, args.only.split(","))} if args.only else set(names)
    if unknown := chosen - set(names):
        sys.exit(f"api_bench: unknown endpoint(s) for --only: {', '.join(sorted(unknown))}")
    modes = [m.strip() for m in args.synchronous.split(",") if m.strip()]
    if bad := set(modes) - {"full", "normal"}:
        sys.exit(f"api_bench: --synchronous takes full and normal, not {', '.join(sorted(bad))}")
    if modes and args.database_url:
        sys.exit("api_bench: --synchronous compares SQLite settings; leave out --database-url")
    if shutil.which("wrk") is None:
        sys.exit("api_bench needs wrk (Debian package 'wrk'; `make bench` installs it)")

    folder = Path(tempfile.mkdtemp(prefix="needlewise-bench-"))
    valuesets = args.valuesets if args.valuesets.is_dir() else None
    servers: list[Target] = []
    try:
        for mode in modes or [""]:
            database_url = args.database_url or f"sqlite:///{folder / f'bench{mode}.sqlite'}"
            extra = {"NEEDLEWISE_SQLITE_SYNCHRONOUS": mode} if mode else {}
            label = f" synchronous={mode.upper()}" if mode else ""
            servers.append(start_server(label, database_url, valuesets, args.workers, extra))
        for server in servers:
            wait_ready(server.base, server.process)
        bundle = orjson.dumps(make_bundle(random.Random(20261126), 1))
        intake = orjson.dumps(answered_intake(load(valuesets)))
        check_in = json.dumps(
            {"symptoms": ["symptom.soreness"], "hours_since_treatment": 20, "language": "en"}
        ).encode()
        plans: list[dict[str, tuple[str, Path]]] = []
        for number, server in enumerate(servers):
            token, base = server.token, server.base
            scripts = {
                "trivial": lua_script(folder, f"trivial{number}", "GET", None, None),
                "screen-floor": lua_script(folder, f"floor{number}", "POST", FLOOR, token),
                "screen-intake": lua_script(folder, f"intake{number}", "POST", intake, token),
                "screen-bundle": lua_script(folder, f"bundle{number}", "POST", bundle, token),
                "check-in": lua_script(folder, f"check_in{number}", "POST", check_in, token),
                "check-in-key": lua_script(
                    folder, f"check_in_key{number}", "POST", check_in, token, unique_key=True
                ),
            }
            screen = f"{base}/api/screen?as_of=2026-11-26&electrical_stimulation=false"
            urls = {
                "trivial": f"{base}/healthz",
                "screen-floor": screen,
                "screen-intake": screen,
                "screen-bundle": screen,
                "check-in": f"{base}/api/patients/{server.patient_id}/check-ins",
                "check-in-key": f"{base}/api/patients/{server.patient_id}/check-ins",
            }
            plans.append({name: (urls[name], scripts[name]) for name in names})
            for name in ("trivial", "screen-intake", "screen-bundle"):  # warm-up
                run_wrk(*plans[-1][name], 4, 2)
        rounds: list[list[dict[str, WrkResult]]] = [[] for _ in servers]
        for number in range(1, args.rounds + 1):
            print(f"  round {number}/{args.rounds} …", file=sys.stderr, flush=True)
            for index, plan in enumerate(plans):
                rounds[index].append(
                    {
                        name: run_wrk(*plan[name], args.connections, args.duration)
                        for name in names
                        if name in chosen
                    }
                )
    finally:
        for server in servers:
            os.killpg(server.process.pid, signal.SIGTERM)
            server.process.wait(timeout=30)
    for server, measured in zip(servers, rounds, strict=True):
        report(server, measured, args)
    if len(servers) == 2 and "check-in" in chosen:
        ratio = median(a["check-in"].rps / b["check-in"].rps for a, b in zip(*rounds, strict=True))
        print(
            f"check-ins/s,{servers[0].label} vs{servers[1].label}: {ratio:.2f} "
            "(median of the per-round ratios)"
        )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
