"""Sending one due message: claim it, render it, send it, record the send.

The rows of ``outbound_messages`` are the queue of record; the worker (``jobs/``) only
decides *when* to call :func:`deliver`. Each call goes through three steps:

1. **Claim** (its own transaction): a conditional ``UPDATE`` moves the row from
   ``scheduled`` (due) — or from ``sending`` whose claim is older than
   ``NEEDLEWISE_WORKER_CLAIM_TIMEOUT_SECONDS`` (its worker died) — to ``sending``, with
   ``claimed_at`` and ``attempts + 1``. Only one worker's update matches, so two workers
   never both send a message; a row already ``sent``, ``cancelled``, ``handled`` or
   ``failed`` is skipped. In the same transaction a patient message whose patient opted
   out is cancelled (``opted-out``), and one with nowhere to go (no email address) is
   cancelled (``no-contact``). Outbox rows (``channel = outbox``) are never claimed:
   the clinic sends those itself.
2. **Send** through the :class:`Sender` the door passes in (SMTP in ``jobs/smtp.py``),
   with ``Message-ID: <{idempotency_key}@needlewise>``.
3. **Record** (one transaction): ``sending`` → ``sent`` with ``sent_at``, only if the
   row is still our claim (same ``attempts``).

The one window no SMTP client can close: the server accepted the message (``250`` after
``DATA``) and the process died before step 3 committed. The row stays ``sending``; after
the claim timeout a worker sends it again *with the same Message-ID*, so the patient may
get the same email twice (mail clients that thread by Message-ID show it once). We chose
this over the other way round (marking before sending, which would lose the message on a
crash) because a lost check-in or clinic alert is worse for patient safety than a
duplicate. Tests hit the window through the ``after_send`` hook.

Failures: a temporary one (no connection, a timeout, a ``4xx`` reply) puts the row back
to ``scheduled`` with a growing delay; a permanent one (``5xx``, a refused recipient) or
:data:`MAX_ATTEMPTS` attempts mark it ``failed``. ``last_error`` holds the reply code and
the kind of failure only — never an address or the server's words, which may quote one.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from needlewise.persistence.models.accounts import Clinic
from needlewise.persistence.models.aftercare import OutboundMessage
from needlewise.persistence.models.clinical import Patient
from needlewise.services.message_text import PATIENT_KINDS, MessageLinks, render
from needlewise.services.runtime import Runtime

log = logging.getLogger("needlewise.delivery")

#: attempts after which a message that keeps failing for a temporary reason is ``failed``
MAX_ATTEMPTS = 8
#: delay before the first retry; it doubles with every attempt, up to :data:`MAX_BACKOFF`
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)


class SendFailure(Exception):
    """A send that did not go through; ``reason`` holds no patient data."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Email:
    """One email, ready for the sender."""

    message_id: str
    recipient: str
    subject: str
    body: str
    language: str


class Sender(Protocol):
    """Sends one email; raises :class:`SendFailure` when it does not go through."""

    def send(self, email: Email) -> None: ...


_ATEXT = frozenset(string.ascii_letters + string.digits + "-_+=.")


def message_id_of(idempotency_key: str) -> str:
    """The email ``Message-ID`` of a message: the same on every attempt.

    ``<{idempotency_key}@needlewise>`` with each character a Message-ID may not hold
    (``:`` among them, RFC 5322 ``dot-atom-text``) written as ``%XX``: one key, one id."""
    left = "".join(c if c in _ATEXT else f"%{ord(c):02X}" for c in idempotency_key)
    return f"<{left}@needlewise>"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _claimable(runtime: Runtime, now: datetime) -> ColumnElement[bool]:
    stale = now - timedelta(seconds=runtime.settings.worker_claim_timeout_seconds)
    return and_(
        OutboundMessage.channel == "email",
        or_(
            and_(OutboundMessage.state == "scheduled", OutboundMessage.due_at <= now),
            and_(OutboundMessage.state == "sending", OutboundMessage.claimed_at < stale),
        ),
    )


def due_message_ids(runtime: Runtime, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Email messages due at ``now`` (and ones whose worker died mid-send), oldest first."""
    moment = _now(now)
    query = (
        select(OutboundMessage.id)
        .where(_claimable(runtime, moment))
        .order_by(OutboundMessage.due_at, OutboundMessage.id)
        .limit(limit)
    )
    with runtime.db.read() as session:
        return list(session.scalars(query))


@dataclass(frozen=True)
class _Claim:
    attempts: int
    email: Email | None  # None: cancelled in the claim


def _claim(runtime: Runtime, message_id: int, now: datetime) -> _Claim | None:
    with runtime.db.write() as session:
        claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id, _claimable(runtime, now))
            .values(
                state="sending",
                claimed_at=now,
                attempts=OutboundMessage.attempts + 1,
                version=OutboundMessage.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return None
        row = session.get(OutboundMessage, message_id, populate_existing=True)
        assert row is not None
        email, cancel = prepare_email(runtime, session, row)
        if cancel is not None:
            row.state, row.cancel_reason = "cancelled", cancel
            return _Claim(row.attempts, None)
        return _Claim(row.attempts, email)


def prepare_email(
    runtime: Runtime, session: Session, row: OutboundMessage
) -> tuple[Email | None, str | None]:
    """The email of ``row``, or why it must be cancelled instead."""
    base = runtime.settings.public_url.rstrip("/")
    links = MessageLinks(today=f"{base}/app")
    recipient = row.recipient
    if row.kind in PATIENT_KINDS:
        patient = session.get(Patient, row.patient_id) if row.patient_id else None
        if patient is None:
            return None, "no-contact"
        if patient.check_ins_opted_out_at is not None:
            return None, "opted-out"
        recipient = recipient or patient.email
        if row.link_id is None:
            return None, "no-contact"
        token = runtime.signer.sign(row.link_id, "check-in")
        links = MessageLinks(check_in=f"{base}/p/{token}/check-in", stop=f"{base}/p/{token}/stop")
    elif not recipient:
        clinic = session.get(Clinic, row.clinic_id)
        recipient = clinic.alert_email if clinic is not None else None
    if not recipient:
        return None, "no-contact"
    text = render(row.kind, row.language, dict(row.params or {}), links, runtime.kb)
    email = Email(
        message_id=message_id_of(row.idempotency_key),
        recipient=recipient,
        subject=text.subject,
        body=text.body,
        language=row.language,
    )
    return email, None


def _mine(message_id: int, attempts: int) -> ColumnElement[bool]:
    return and_(
        OutboundMessage.id == message_id,
        OutboundMessage.state == "sending",
        OutboundMessage.attempts == attempts,
    )


def _record_sent(runtime: Runtime, message_id: int, attempts: int, now: datetime) -> None:
    with runtime.db.write() as session:
        session.execute(
            update(OutboundMessage)
            .where(_mine(message_id, attempts))
            .values(
                state="sent",
                sent_at=now,
                last_error=None,
                version=OutboundMessage.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )


def backoff(attempts: int) -> timedelta:
    """The delay before the next attempt after ``attempts`` failed ones."""
    delay: timedelta = FIRST_BACKOFF * (2 ** max(0, attempts - 1))
    return min(delay, MAX_BACKOFF)


def _record_failure(
    runtime: Runtime, message_id: int, attempts: int, failure: SendFailure, now: datetime
) -> str:
    give_up = failure.permanent or attempts >= MAX_ATTEMPTS
    kind = "permanent" if failure.permanent else "temporary"
    values: dict[str, object] = {
        "last_error": f"{kind}: {failure.reason} (attempt {attempts})"[:300],
        "version": OutboundMessage.version + 1,
        "updated_at": now,
    }
    if give_up:
        values["state"] = "failed"
    else:
        values.update(state="scheduled", due_at=now + backoff(attempts), claimed_at=None)
    with runtime.db.write() as session:
        session.execute(
            update(OutboundMessage)
            .where(_mine(message_id, attempts))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return "failed" if give_up else "retry"


def deliver(
    runtime: Runtime,
    message_id: int,
    sender: Sender,
    now: datetime | None = None,
    after_send: Callable[[], None] | None = None,
) -> str:
    """Claim, send and record message ``message_id``; returns what happened:
    ``sent``, ``retry`` (temporary failure, due again later), ``failed``, ``cancelled``
    (opted out, no address) or ``skipped`` (not due, already done, or another worker's).

    ``after_send`` runs after the server accepted the email and before the send is
    recorded: a fault hook for tests of the one window (see the module docstring)."""
    moment = _now(now)
    claim = _claim(runtime, message_id, moment)
    if claim is None:
        return "skipped"
    if claim.email is None:
        return "cancelled"
    try:
        sender.send(claim.email)
    except SendFailure as failure:
        outcome = _record_failure(runtime, message_id, claim.attempts, failure, moment)
        log.warning("message %s: %s (%s)", message_id, failure.reason, outcome)
        return outcome
    if after_send is not None:
        after_send()
    _record_sent(runtime, message_id, claim.attempts, _now(now))
    return "sent"


def deliver_due(
    runtime: Runtime, sender: Sender, now: datetime | None = None, limit: int = 500
) -> dict[str, int]:
    """Deliver every due message one after another; counts of each outcome."""
    counts: dict[str, int] = {}
    for message_id in due_message_ids(runtime, now, limit):
        outcome = deliver(runtime, message_id, sender, now)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
