"""``needlewise demo``: the whole demo in one command (``make run``): the local mail
catcher, the worker and the server with the demo clinic, each its own child process.

Why a supervisor and not threads in ``serve``: each part runs exactly as an operator
would run it (``needlewise mail-catcher``, ``needlewise worker``, ``needlewise serve
--demo``), so the demo tests the real commands. Ctrl-C (or SIGTERM) stops all three;
when one of them exits, the others are stopped too and its exit code is returned.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from needlewise.cli.base import Context, guarded, main

CHILD_STOP_SECONDS = 15
#: the children, in the order they start
NAMES = ("mail catcher", "server", "worker")


#: how long the server may take to create the schema and load the demo (its past year
#: included) before the worker starts anyway
SERVER_START_SECONDS = 300.0


def _wait_for_port(
    host: str, port: int, within: float, child: subprocess.Popen[bytes] | None = None
) -> bool:
    """True once ``port`` takes connections; False after ``within`` seconds, or as soon
    as ``child`` (the process that should open it) has ended."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in reversed(children):  # the server first, the catcher last
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + CHILD_STOP_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@main.command()
@click.option("--host", default=None, help="Address to bind (default NEEDLEWISE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default NEEDLEWISE_PORT).")
@click.option(
    "--mail-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("var/mail"),
    show_default=True,
    help="Where the demo's mail catcher keeps the emails.",
)
@click.pass_obj
@guarded
def demo(obj: Context, host: str | None, port: int | None, mail_dir: Path) -> None:
    """Start the demo: the server with the demo clinic, the worker and a local mail
    catcher (nothing is delivered; read the mail on the admin's Mail page). Ctrl-C
    stops all three."""
    from needlewise.errors import InputError

    settings = obj.settings
    smtp_port = settings.smtp_port
    if _wait_for_port("127.0.0.1", smtp_port, 0.2):
        raise InputError(
            f"port {smtp_port} is in use; set NEEDLEWISE_SMTP_PORT to a free one",
            "NEEDLEWISE_SMTP_PORT",
        )
    env = {
        **os.environ,
        "NEEDLEWISE_SMTP_HOST": "127.0.0.1",
        "NEEDLEWISE_SMTP_PORT": str(smtp_port),
        "NEEDLEWISE_SMTP_STARTTLS": "false",
        "NEEDLEWISE_MAIL_CATCHER_DIR": str(mail_dir),
    }
    env.pop("NEEDLEWISE_SMTP_USERNAME", None)
    env.pop("NEEDLEWISE_SMTP_PASSWORD", None)
    command = [sys.executable, "-m", "needlewise.cli"]
    if obj.valuesets_dir is not None:
        command += ["--valuesets", str(obj.valuesets_dir)]
    serve = [*command, "serve", "--demo"]
    serve += ["--host", host] if host else []
    serve += ["--port", str(port)] if port else []
    children: list[subprocess.Popen[bytes]] = []
    stopping = {"now": False}

    def on_signal(signum: int, _frame: object) -> None:
        stopping["now"] = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        catcher = [*command, "mail-catcher", "--dir", str(mail_dir)]
        children.append(subprocess.Popen(catcher, env=env))  # noqa: S603 - our own command
        if not _wait_for_port("127.0.0.1", smtp_port, 15):
            raise InputError(f"the mail catcher did not start on port {smtp_port}", "mail-catcher")
        # the server first creates the schema and loads the demo; the worker then starts
        children.append(subprocess.Popen(serve, env=env))  # noqa: S603 - our own command
        bound_host = host or settings.host
        bound_port = port or settings.port
        click.echo("needlewise demo: starting the server (the first time it loads the demo clinic)")
        _wait_for_port(bound_host, bound_port, SERVER_START_SECONDS, children[-1])
        children.append(subprocess.Popen([*command, "worker"], env=env))  # noqa: S603 - our own command
        click.echo(
            f"Demo mail: nothing is delivered. The catcher keeps every email in {mail_dir}/ "
            f"(one .eml file each); read them at http://{bound_host}:{bound_port}/app/admin/mail "
            "(sign in as the admin above). Ctrl-C stops the server, the worker and the catcher."
        )
        while not stopping["now"]:
            ended = [child for child in children if child.poll() is not None]
            if ended:
                code = ended[0].returncode or 0
                name = NAMES[children.index(ended[0])]
                click.echo(f"needlewise demo: the {name} stopped; stopping the rest.", err=True)
                break
            time.sleep(0.2)
    finally:
        _stop(children)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if code:
        sys.exit(code)
