"""A real needlewise server in a subprocess (uvicorn), for tests that need real HTTP:
concurrent writes from many connections, and a crash (SIGKILL) in the middle of a burst."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``needlewise`` under uvicorn on a free loopback port, against ``database_url``;
    ``env`` adds settings (``NEEDLEWISE_*``) for the server process only."""

    def __init__(
        self, database_url: str, valuesets_dir: Path, workers: int = 1, **env: str
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "NEEDLEWISE_DATABASE_URL": database_url,
            "NEEDLEWISE_SECRET_KEY": "test-secret-key",
            "NEEDLEWISE_VALUESETS_DIR": str(valuesets_dir),
            **env,
        }
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "--factory", "needlewise.web.app:create_app",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                "--no-access-log", "--log-level", "warning",
            ],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"server exited during start-up:\n{stderr[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become ready within 60 s")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no flush — a crash."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stderr is not None:
            self.process.stderr.close()
