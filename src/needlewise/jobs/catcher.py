"""The demo's local mail catcher: an SMTP server on loopback that keeps every message it
receives as an ``.eml`` file (never delivering anything), for ``needlewise mail-catcher``.

Files are named ``<UTC time>-<number>.eml`` and readable by their owner only (they hold
the demo patients' check-in links). :func:`caught` lists them for the admin Mail page.
"""

from __future__ import annotations

import email
import email.policy
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class CatcherHandler:
    """aiosmtpd handler: writes each message to ``folder`` and calls ``on_message(path)``."""

    def __init__(self, folder: Path, on_message: Callable[[Path, int], None]) -> None:
        self.folder = folder
        self.on_message = on_message
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            number = self.count
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}-{number:05d}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(envelope.original_content or envelope.content)
        self.on_message(path, number)
        return "250 Message accepted"


def start_catcher(
    folder: Path, port: int, on_message: Callable[[Path, int], None], host: str = "127.0.0.1"
) -> Controller:
    """Start the catcher on ``host:port`` in a thread (stop it with ``.stop()``)."""
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(CatcherHandler(folder, on_message), hostname=host, port=port)
    controller.start()
    return controller


@dataclass(frozen=True)
class Caught:
    """One message the catcher kept (for the admin Mail page)."""

    name: str
    received_at: datetime
    recipient: str
    subject: str
    message_id: str
    body: str


def caught(folder: Path, limit: int = 100) -> list[Caught]:
    """The newest ``limit`` messages in ``folder`` (newest first); none when it is absent."""
    if not folder.is_dir():
        return []
    out: list[Caught] = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        try:
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        except OSError:
            continue
        body = parsed.get_body(("plain",))
        out.append(
            Caught(
                name=path.name,
                received_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                recipient=str(parsed["To"] or ""),
                subject=str(parsed["Subject"] or ""),
                message_id=str(parsed["Message-ID"] or ""),
                body=body.get_content() if body is not None else "",
            )
        )
    return out
