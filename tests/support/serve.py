"""``needlewise serve`` in a subprocess on a free loopback port: the command operators
run, with its own uvicorn options (not the bare uvicorn of ``support.server``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.server import free_port

NEEDLEWISE = Path(sys.executable).with_name("needlewise")


class Served:
    """``needlewise serve --port PORT`` against ``database_url``; ``env`` adds settings."""

    def __init__(self, database_url: str, valuesets_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(NEEDLEWISE), "serve", "--port", str(self.port)],
            env={
                **os.environ,
                "NEEDLEWISE_DATABASE_URL": database_url,
                "NEEDLEWISE_SECRET_KEY": "test-secret-key",
                "NEEDLEWISE_VALUESETS_DIR": str(valuesets_dir),
                "NEEDLEWISE_NLP_WARMUP": "false",
                **env,
            },
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"needlewise serve exited during start-up:\n{stderr[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("needlewise serve did not answer within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()
