"""A real SMTP server on loopback for the worker's tests (aiosmtpd in a thread).

``SmtpServer`` records every message it accepts (Message-ID, recipient, subject, body).
Hooks let a test decide what the server answers: ``on_data(n)`` runs when the n-th
``DATA`` (1-based, counting every attempt) arrives, before the server accepts it, and may
return an SMTP reply (``"451 ..."``, ``"550 ..."``) to refuse it instead; ``on_mail(n)``
runs at the n-th ``MAIL FROM``. A test kills a worker process from these hooks to crash it
at an exact point of an SMTP transaction.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    message_id: str
    recipient: str
    subject: str
    body: str


@dataclass
class _Handler:
    on_data: Callable[[int], str | None] | None = None
    on_mail: Callable[[int], None] | None = None
    received: list[Received] = field(default_factory=list)
    data_calls: int = 0
    mail_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            self.mail_calls += 1
            count = self.mail_calls
        if self.on_mail is not None:
            self.on_mail(count)
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_calls += 1
            count = self.data_calls
        if self.on_data is not None:
            reply = self.on_data(count)
            if reply is not None:
                return reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(("plain",))
        with self.lock:
            self.received.append(
                Received(
                    message_id=str(parsed["Message-ID"]),
                    recipient=envelope.rcpt_tos[0],
                    subject=str(parsed["Subject"]),
                    body=body.get_content() if body is not None else "",
                )
            )
        return "250 Message accepted"


class SmtpServer:
    """A running server: ``port``, ``received`` and the hooks (set them any time)."""

    def __init__(self, handler: _Handler, controller: Controller) -> None:
        self.handler = handler
        self.controller = controller
        self.port: int = controller.port

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def message_ids(self) -> list[str]:
        return [item.message_id for item in self.received]

    def set_hooks(
        self,
        on_data: Callable[[int], str | None] | None = None,
        on_mail: Callable[[int], None] | None = None,
    ) -> None:
        self.handler.on_data = on_data
        self.handler.on_mail = on_mail


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 at a free port, stopped when the block ends."""
    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(handler, controller)
    finally:
        controller.stop()
