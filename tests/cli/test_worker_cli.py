"""``needlewise worker`` refuses unusable settings with one line (exit 2), and
``needlewise mail-catcher`` keeps each message as a file and says so without its content."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from click.testing import CliRunner

from needlewise.cli import main
from support.service import settings_for
from support.smtp import free_port
from support.waiting import wait_until

SRC = str(Path(__file__).parents[2] / "src")


def test_the_worker_refuses_an_unreachable_redis_or_mail_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    redis = settings_for(
        url, worker_backend="redis", redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    result = CliRunner().invoke(main, ["worker"], obj=redis)
    assert result.exit_code == 2
    assert "cannot use the redis queue" in result.output
    assert len(result.output.strip().splitlines()) == 1
    no_mail = settings_for(url, worker_queue_file=tmp_path / "q.db", smtp_port=free_port())
    result = CliRunner().invoke(main, ["worker"], obj=no_mail)
    assert result.exit_code == 2
    assert "cannot reach the mail server" in result.output
    assert "Traceback" not in result.output


def test_the_mail_catcher_keeps_each_message_and_prints_no_content(tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "mail"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "needlewise.cli", "mail-catcher", "--dir", str(folder),
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert f"127.0.0.1:{port}" in first
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.example", "b@x.example", "Hi"
        message.set_content("secret words")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(message)
        wait_until(lambda: len(list(folder.glob("*.eml"))) == 1, "the .eml file")
        line = process.stdout.readline()
        assert "message 1 kept as" in line
        assert "secret" not in line
        kept = next(folder.glob("*.eml"))
        assert b"secret words" in kept.read_bytes()
        assert kept.stat().st_mode & 0o077 == 0
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0
