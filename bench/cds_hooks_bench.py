"""CDS Hooks ``order-select`` on loopback: needlewise vs a parse-only endpoint vs HealthChain.

Three endpoints answer the same 31 KB ``order-select`` request (a 30-entry prefetch and a
draft ServiceRequest for CPT 20560, :mod:`order_select_body`), each sent with a new
ES384-signed JWT per request (:mod:`cds_bench_tokens`):

* **ours**: needlewise's ``POST /cds-services/{id}`` (the ``order-select`` service found
  through discovery): JWT verification, replay check, screening, cards stored;
* **parse-only**: ``POST /bench/parse-only`` added to the *same* needlewise app, process
  and worker (:mod:`cds_bench_app`): reads and parses the body, answers a tiny JSON;
* **HealthChain** 0.16.1 in its own virtualenv (:mod:`cds_bench_peer`), same uvicorn.

Both servers run under uvicorn, 1 worker, on 127.0.0.1; ``wrk`` (1 thread) drives each
for ``--duration`` seconds at ``--connections`` (16), after a warm-up, in ``--rounds``
rounds (3) that measure the three in turn, so a slow spell of a shared machine hits all
of them. Tokens are signed before each round (enough for ours never to reuse one; the
other two get the same header bytes). A run counts only when every answer was a 200.
Prints medians of req/s and p50/p99 latency, and the median of the per-round ratios.

Targets (issue 12): ours >= 0.5x parse-only, >= 2x HealthChain's req/s, p99 no higher
than HealthChain's. Run: ``cd bench && ../.venv/bin/python cds_hooks_bench.py``.
Needs Debian's ``wrk`` (``make bench`` installs it). Synthetic data only.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import median

import orjson

import cds_bench_peer as peer
from cds_bench_app import (
    GROUP_COMMIT_PATH,
    PARSE_ONLY_ANSWER,
    PARSE_ONLY_LAST_PATH,
    PARSE_ONLY_PATH,
)
from cds_bench_tokens import ALGORITHMS, BenchSigner
from cds_bench_wrk import WrkResult, run_wrk
from needlewise.config import Settings
from needlewise.persistence.migrate import upgrade
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.runtime import Runtime
from order_select_body import order_select_request, prefetch_entries

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NAMES = ("parse-only", "parse-only-last", "ours", "healthchain")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: bytes, token: str) -> tuple[int, bytes]:
    """One POST; returns the status and the answer (errors included)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as a:
            return a.status, a.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads; Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The host's 1-minute load average (other work on a shared machine shows here)."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def wait_ready(url: str, process: subprocess.Popen[bytes], label: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{label}: the server exited during start-up")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{label}: the server did not become ready within 90 s")


def uvicorn(python: Path | str, target: list[str], port: int) -> list[str]:
    """The same uvicorn command line for both servers (1 worker, no access log)."""
    return [
        str(python), "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


@dataclass
class Servers:
    ours: str
    peer: str
    processes: list[subprocess.Popen[bytes]]

    def measure(
        self, name: str, url: str, files: tuple[Path, Path], connections: int, seconds: float
    ) -> WrkResult:
        """One wrk run on ``url``, with the CPU time its server spent meanwhile."""
        pid = self.processes[1 if name == "healthchain" else 0].pid
        body, tokens = files
        commits, before = self.commits(), cpu_seconds(pid)
        result = run_wrk(url, body, tokens, files[0].with_suffix(".lua"), connections, seconds)
        cpu = cpu_seconds(pid) - before
        return replace(result, server_cpu_seconds=cpu, commits=self.commits() - commits)

    def commits(self) -> int:
        """Group commits of our server so far."""
        return int(orjson.loads(get(f"{self.ours}{GROUP_COMMIT_PATH}")[1])["batches"])


def start_servers(folder: Path, signer: BenchSigner, args: argparse.Namespace) -> Servers:
    """Migrate a fresh database with one clinic, then start needlewise and HealthChain."""
    database_url = args.database_url or f"sqlite:///{folder / 'bench.sqlite'}"
    valuesets = args.valuesets if args.valuesets.is_dir() else None
    upgrade(database_url)
    runtime = Runtime.build(
        Settings(database_url=database_url, valuesets_dir=valuesets, secret_key="bench-secret")
    )
    create_clinic(runtime, ClinicIn(name="Bench Clinic"))
    runtime.db.dispose()
    ours_port, peer_port = free_port(), free_port()
    ours = f"http://127.0.0.1:{ours_port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "NEEDLEWISE_DATABASE_URL": database_url,
        "NEEDLEWISE_SECRET_KEY": "bench-secret",
        "NEEDLEWISE_VALUESETS_DIR": str(valuesets or ""),
        "NEEDLEWISE_CDS_CLIENTS_FILE": str(signer.write_clients_file(folder / "clients.json")),
        "NEEDLEWISE_CDS_BASE_URL": ours,
        # the free-text reader is never used by CDS Hooks; building it in the background
        # at start-up would take CPU from the first runs
        "NEEDLEWISE_NLP_WARMUP": "false",
    }
    if args.cds_first:
        env["NEEDLEWISE_BENCH_CDS_FIRST"] = "1"
    if args.sqlite_synchronous:
        env["NEEDLEWISE_SQLITE_SYNCHRONOUS"] = args.sqlite_synchronous
    if args.cprofile is not None:
        env["NEEDLEWISE_BENCH_CPROFILE"] = str(args.cprofile.resolve())
    command = uvicorn(sys.executable, ["--factory", "cds_bench_app:create"], ours_port)
    ours_process = subprocess.Popen(command, cwd=BENCH, env=env, start_new_session=True)
    peer_app = peer.write_app(folder)
    command = uvicorn(peer.python(), ["--app-dir", str(folder), peer_app], peer_port)
    peer_env = {k: v for k, v in os.environ.items() if not k.startswith("NEEDLEWISE_")}
    with (folder / "healthchain.log").open("wb") as log:  # its start-up banner goes there
        peer_process = subprocess.Popen(
            command, cwd=folder, env=peer_env, stdout=log, stderr=log, start_new_session=True
        )
    servers = Servers(ours, f"http://127.0.0.1:{peer_port}", [ours_process, peer_process])
    wait_ready(f"{ours}/healthz", ours_process, "needlewise")
    wait_ready(f"{servers.peer}/cds/cds-discovery", peer_process, "HealthChain")
    return servers


def order_select_service(base: str, signer: BenchSigner) -> str | None:
    """The id of our service for ``order-select`` from discovery (None: no such service)."""
    status, answer = get(f"{base}/cds-services", signer.token(f"{base}/cds-services"))
    if status != 200:
        print(f"  needlewise discovery answered {status}: {answer[:200]!r}", file=sys.stderr)
        return None
    services = orjson.loads(answer).get("services", [])
    return next((s["id"] for s in services if s.get("hook") == "order-select"), None)


def check_answers(urls: dict[str, str], body: bytes, signer: BenchSigner) -> None:
    """One call to each endpoint before the timed runs: each must answer 200 (ours and
    HealthChain with at least one card); prints the cards' indicators and summaries."""
    for name, url in urls.items():
        status, answer = post(url, body, signer.token(url))
        if status != 200:
            raise SystemExit(f"cds_hooks_bench: {name} answered {status}: {answer[:500]!r}")
        if name.startswith("parse-only") and answer != PARSE_ONLY_ANSWER:
            raise SystemExit(f"cds_hooks_bench: parse-only answered {answer[:200]!r}")
        if not name.startswith("parse-only"):
            cards = orjson.loads(answer).get("cards", [])
            if not cards:
                raise SystemExit(f"cds_hooks_bench: {name} answered no card: {answer[:500]!r}")
            shown = "; ".join(f"{c.get('indicator')}: {c.get('summary')}" for c in cards)
            print(f"  {name} answers {len(cards)} card(s), {len(answer):,} bytes: {shown}")


def per_commit(runs: list[WrkResult]) -> str:
    """Median calls per group commit (the 2xx calls each commit carried)."""
    return f"{median(r.requests / max(r.commits, 1) for r in runs):.1f}"


def report(rounds: list[dict[str, WrkResult]], args: argparse.Namespace) -> None:
    names = [name for name in NAMES if name in rounds[0]]
    database = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
    print(
        f"cds_hooks_bench: order-select, {args.alg} JWTs, {database}, {args.connections} "
        f"connections,{' CDS router first (what-if),' if args.cds_first else ''} "
        "uvicorn 1 worker, "
        f"{len(rounds)} round(s) of {args.duration} s per endpoint (medians)"
    )
    print(
        f"  {'endpoint':<17}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'worst p99':>11}"
        f"{'cpu ms/req':>11}{'calls/commit':>13}{'non-200':>9}{'socket err':>12}"
        f"{'reused jwt':>12}"
    )
    for name in names:
        runs = [one[name] for one in rounds]
        print(
            f"  {name:<17}{median(r.rps for r in runs):>9,.0f}{median(r.p50_ms for r in runs):>9.1f}"
            f"{median(r.p99_ms for r in runs):>9.1f}{max(r.p99_ms for r in runs):>11.1f}"
            f"{median(r.cpu_ms_per_request for r in runs):>11.2f}"
            f"{per_commit(runs) if name == 'ours' else '-':>13}"
            f"{sum(r.non_200 for r in runs):>9}{sum(r.socket_errors for r in runs):>12}"
            f"{sum(r.wrapped for r in runs) if name == 'ours' else '-':>12}"
        )
    clean = all(r.clean for one in rounds for r in one.values())
    if not clean:
        print("  SOME RUNS HAD NON-200 ANSWERS OR SOCKET ERRORS: the ratios below do not count")
    targets = []
    if "parse-only-last" in names and "ours" in names:
        ratio = median(one["ours"].rps / one["parse-only-last"].rps for one in rounds)
        print(f"  ours / parse-only-last (a route behind all of the app's): {ratio:.2f}")
    for name in ("healthchain", "ours"):
        if name in names and "parse-only" in names:
            ratio = median(one[name].rps / one["parse-only"].rps for one in rounds)
            print(f"  {name} / parse-only: {ratio:.2f}")
            if name == "ours":
                verdict = "met" if ratio >= 0.5 and clean else "NOT met"
                targets.append(f"ours >= 0.5x parse-only: {verdict} ({ratio:.2f})")
    if "ours" in names and "healthchain" in names:
        ratio = median(one["ours"].rps / one["healthchain"].rps for one in rounds)
        ours_p99 = median(one["ours"].p99_ms for one in rounds)
        peer_p99 = median(one["healthchain"].p99_ms for one in rounds)
        print(f"  ours / healthchain: {ratio:.2f}; p99 {ours_p99:.1f} ms vs {peer_p99:.1f} ms")
        targets.append(f">= 2x HealthChain: {'met' if ratio >= 2 and clean else 'NOT met'}")
        targets.append(
            f"p99 <= HealthChain's: {'met' if ours_p99 <= peer_p99 and clean else 'NOT met'}"
        )
    if targets:
        print("  targets: " + "; ".join(targets))
    cpu = {name: median(one[name].cpu_ms_per_request for one in rounds) for name in names}
    if "ours" in cpu:  # what one core could serve: steadier than req/s on a shared machine
        shown = [f"ours / {n}: {cpu[n] / cpu['ours']:.2f}" for n in cpu if n != "ours"]
        print("  by server CPU per request (what one core could serve): " + "; ".join(shown))


def print_profiles(folder: Path, top: int = 35) -> None:
    """Where our server's threads spent their time (from the ``.pstats`` files)."""
    files = sorted(folder.glob("*.pstats"))
    if not files:
        print(f"  no profiles in {folder}")
        return
    by_kind: dict[str, float] = {}
    for file in files:
        stats = pstats.Stats(str(file))
        kind = file.stem.rsplit("-", 1)[0].rstrip("_0123456789") or "thread"
        total = getattr(stats, "total_tt", 0.0)
        by_kind[kind] = by_kind.get(kind, 0.0) + total
    print("  profiled time by thread kind: " + ", ".join(
        f"{kind} {seconds:.1f} s" for kind, seconds in sorted(by_kind.items())))  # fmt: skip
    merged = pstats.Stats(*(str(f) for f in files))
    merged.sort_stats("tottime").print_stats(top)
    merged.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--valuesets", type=Path, default=ROOT.parent / "shared" / "valuesets")
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("full", "normal"),
        default=None,
        help="NEEDLEWISE_SQLITE_SYNCHRONOUS for our server (default: the setting's, full)",
    )
    parser.add_argument(
        "--route-order",
        action="store_true",
        help="also measure the parse-only endpoint put behind all of the app's routes "
        "(what the router's search costs a call)",
    )
    parser.add_argument(
        "--cds-first",
        action="store_true",
        help="what-if: move our CDS Hooks router to the front of the app's routes "
        "(src/ unchanged) to show what route order costs a call",
    )
    parser.add_argument(
        "--alg",
        choices=ALGORITHMS,
        default="ES384",
        help="the EHR's signing algorithm (both are the spec's recommendations)",
    )
    parser.add_argument(
        "--max-tokens", type=int, default=120_000, help="most tokens signed per round"
    )
    parser.add_argument(
        "--cprofile",
        type=Path,
        default=None,
        metavar="DIR",
        help="profile every thread of our server (cProfile, into DIR) while only ours is "
        "driven, then print where its time went; the rates of such a run do not count",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("cds_hooks_bench needs wrk (Debian package 'wrk'; `make bench` installs it)")
    peer.ensure_venv()
    folder = Path(tempfile.mkdtemp(prefix="needlewise-cds-bench-"))
    request = order_select_request()
    body_bytes = orjson.dumps(request)
    body = folder / "order-select.json"
    body.write_bytes(body_bytes)
    print(
        f"  body: {len(body_bytes):,} bytes, {prefetch_entries(request)} prefetch entries",
        file=sys.stderr,
    )
    signer = BenchSigner(args.alg)
    load_before = load_average()
    servers = start_servers(folder, signer, args)
    try:
        service = order_select_service(servers.ours, signer)
        urls = {
            "parse-only": f"{servers.ours}{PARSE_ONLY_PATH}",
            "parse-only-last": f"{servers.ours}{PARSE_ONLY_LAST_PATH}",
            "ours": f"{servers.ours}/cds-services/{service}",
            "healthchain": f"{servers.peer}{peer.SERVICE_PATH}",
        }
        if service is None:
            print("  needlewise has no order-select service: measuring the others only")
            del urls["ours"]
        if not args.route_order:
            del urls["parse-only-last"]
        check_answers(urls, body_bytes, signer)
        if args.cprofile is not None:
            if "ours" not in urls:
                sys.exit("cds_hooks_bench: --cprofile needs our order-select service")
            urls = {"ours": urls["ours"]}
        audience = urls.get("ours") or next(iter(urls.values()))
        warm = signer.write_tokens(folder / "warm.tokens", audience, 6000)
        rates = {
            name: servers.measure(name, url, (body, warm), 4, 2).rps for name, url in urls.items()
        }
        # enough for ours never to reuse a token (the others may start the file over)
        rate = rates.get("ours", max(rates.values()))
        count = min(args.max_tokens, int(rate * args.duration * 2) + 2000)
        rounds: list[dict[str, WrkResult]] = []
        for number in range(1, args.rounds + 1):
            print(f"  round {number}/{args.rounds}: signing {count:,} tokens …", file=sys.stderr)
            tokens = signer.write_tokens(folder / f"round{number}.tokens", audience, count)
            rounds.append(
                {
                    name: servers.measure(
                        name, url, (body, tokens), args.connections, args.duration
                    )
                    for name, url in urls.items()
                }
            )
        report(rounds, args)
        print(f"  load average before/after: {load_before} / {load_average()}")
        print("  raw: " + json.dumps([{k: vars(v) for k, v in one.items()} for one in rounds]))
    finally:
        for process in servers.processes:
            process.terminate()
        for process in servers.processes:
            process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
    if args.cprofile is not None:
        print_profiles(args.cprofile)


if __name__ == "__main__":
    main()
