"""Drive one endpoint with Debian's ``wrk``: the same body, a new bearer token per request.

:func:`run_wrk` writes a Lua script that loads the body and a file of pre-signed tokens
(``Authorization: Bearer <token>``, taken in turn, one per request; the file starts over
when it runs out, which a service that refuses replayed ``jti`` answers with 401s, so
the count of starts-over is reported), counts every answer that is not 200, and prints
wrk's summary (requests, duration, latency percentiles, socket errors) as one line that
:func:`run_wrk` reads back. One wrk thread, ``connections`` connections, bounded in time.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = """\
tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = "Bearer " .. line end
local file = io.open("%(body)s", "rb")
wrk.body = file:read("*a")
file:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
index = 0
wrapped = 0
non200 = 0

request = function()
  index = index + 1
  if index > #tokens then
    index = 1
    wrapped = wrapped + 1
  end
  wrk.headers["Authorization"] = tokens[index]
  return wrk.format()
end

response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

threads = {}
setup = function(thread) threads[#threads + 1] = thread end

done = function(summary, latency, requests)
  local bad, wraps = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
    wraps = wraps + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, bad, wraps, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency (ms) and everything that went wrong."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_200: int
    wrapped: int
    socket_errors: int
    server_cpu_seconds: float = 0.0
    """CPU time the server process spent during the run (filled in by the caller)."""
    commits: int = 0
    """Group commits of the server during the run (filled in by the caller)."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU per answered request (all the server's threads)."""
        return self.server_cpu_seconds * 1000 / max(self.requests, 1)

    @property
    def clean(self) -> bool:
        """Counts only when every answer was a 200 and no socket failed."""
        return self.non_200 == 0 and self.socket_errors == 0 and self.requests > 0


def run_wrk(
    url: str, body: Path, tokens: Path, script: Path, connections: int, seconds: float
) -> WrkResult:
    """POST ``body`` to ``url`` for ``seconds`` at ``connections``, one token per request."""
    script.write_text(LUA % {"tokens": tokens, "body": body})
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(script), url,
    ]  # fmt: skip
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=seconds + 120
    ).stdout
    match = re.search(r"^BENCH ((?:\d+ ?){8})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    requests, micros, p50, p99, top, non_200, wrapped, errors = map(int, match.group(1).split())
    return WrkResult(
        requests=requests,
        seconds=micros / 1e6,
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        max_ms=top / 1000,
        non_200=non_200,
        wrapped=wrapped,
        socket_errors=errors,
    )
