"""``needlewise demo`` (``make run``): the server with the demo clinic, the worker and the
mail catcher start together, and one SIGINT to the supervisor stops all three."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from support.smtp import free_port
from support.waiting import wait_until

SRC = str(Path(__file__).parents[2] / "src")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.timeout(420)
def test_demo_starts_three_processes_and_ctrl_c_stops_them(
    tmp_path: Path, valuesets_dir: Path
) -> None:
    http, smtp = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
        "NEEDLEWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "NEEDLEWISE_VALUESETS_DIR": str(valuesets_dir.resolve()),
        "NEEDLEWISE_SMTP_PORT": str(smtp),
        "NEEDLEWISE_NLP_WARMUP": "false",
    }
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", "needlewise.cli", "demo", "--port", str(http)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        stdout = process.stdout
        reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")))
        reader.start()
        try:
            # the server (demo loaded) first, then the worker: a loaded machine takes a while
            wait_until(lambda: any("worker: queue" in line for line in lines), "the worker", 240)
            assert any("/app/admin/mail" in line for line in lines)
            wait_until(lambda: _listening(http), "the server", 60)
            assert _listening(smtp)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            reader.join(timeout=10)
    assert process.returncode == 0, "".join(lines[-20:])
    assert not _listening(http)
    assert not _listening(smtp)
    said = "".join(lines)
    assert "needlewise worker stopped." in said
    assert "mail-catcher stopped." in said
    assert (tmp_path / "var" / "mail").is_dir()
