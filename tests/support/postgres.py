"""A PostgreSQL server for the tests.

On the project's machines one runs at 127.0.0.1:5432 (trust auth). Elsewhere the tests
start a throwaway cluster (``initdb`` + ``pg_ctl`` from the installed PostgreSQL, as the
``postgres`` user when running as root) and stop it at the end. Only when neither works,
and only outside CI, do the PostgreSQL tests skip, with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432"


def reachable(url: str) -> bool:
    try:
        with psycopg.connect(url.replace("+psycopg", "") + "/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayCluster:
    """A private PostgreSQL cluster in a temporary folder."""

    def __init__(self) -> None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not versions:
            raise RuntimeError("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self.bin = versions[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="needlewise-pg-"))
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError(
                    "running as root without runuser to start PostgreSQL as postgres"
                )
            shutil.chown(self.folder, "postgres", "postgres")
            self.prefix = [runuser, "-u", "postgres", "--"]
        data = self.folder / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
        try:
            self.start()
        except BaseException:
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop()  # a server that started late must not outlive the tests
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def start(self) -> None:
        """Start the server (again), on the same port. Its output goes to a log file in the
        folder: a server holding this process's pipes open would make ``_run`` wait."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}"
        log = str(self.folder / "server.log")
        data = str(self.folder / "data")
        self._run(str(self.bin / "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.prefix, *command], check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        try:
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop"
            )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def server() -> tuple[str, ThrowawayCluster | None]:
    """(base URL, cluster to stop or None). Raises RuntimeError with the reason if none."""
    url = os.environ.get("NEEDLEWISE_TEST_POSTGRES", DEFAULT)
    if reachable(url):
        return url, None
    cluster = ThrowawayCluster()
    return cluster.url, cluster


def admin(url: str) -> psycopg.Connection:
    """An autocommit connection to the server's ``postgres`` database (CREATE/DROP DATABASE)."""
    return psycopg.connect(url.replace("+psycopg", "") + "/postgres", autocommit=True)
