"""What staff see of the outbound messages: the admin's mail log and the outbox.

* :func:`mail_log` — every outbound message of the clinic, newest due first, with kind,
  channel, state, due and sent times, attempts and the last error (admins:
  ``audit:read``). It names no patient: patient messages show the patient's number.
* :func:`outbox` — the messages the clinic sends itself (``channel = outbox``: SMS, a
  phone call) that are due and not handled yet, with the patient's name and phone, the
  text to send and the patient's check-in link (staff who may read patients). Each
  patient shown is audited as a read.
* :func:`mark_handled` — a staff member sent it (or called): ``handled`` with who and
  when, audited. A message cancelled meanwhile (the patient answered, opted out) is
  not changed and says so (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from needlewise.errors import Conflict, NotFound
from needlewise.persistence.db import utcnow
from needlewise.persistence.models.aftercare import OutboundMessage
from needlewise.persistence.models.clinical import Patient
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.message_text import PATIENT_KINDS, MessageLinks, render
from needlewise.services.runtime import Runtime


@dataclass(frozen=True)
class MailRow:
    """One line of the admin's mail log (no patient data)."""

    id: int
    kind: str
    channel: str
    state: str
    language: str
    patient_id: int | None
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    cancel_reason: str | None


def mail_log(runtime: Runtime, actor: Actor, limit: int = 200) -> list[MailRow]:
    """The clinic's newest ``limit`` outbound messages (admins)."""
    actor.require("audit:read")
    query = (
        select(OutboundMessage)
        .where(OutboundMessage.clinic_id == actor.clinic_id)
        .order_by(OutboundMessage.due_at.desc(), OutboundMessage.id.desc())
        .limit(limit)
    )
    with runtime.db.read() as tx:
        return [
            MailRow(
                id=row.id,
                kind=row.kind,
                channel=row.channel,
                state=row.state,
                language=row.language,
                patient_id=row.patient_id,
                due_at=row.due_at,
                sent_at=row.sent_at,
                attempts=row.attempts,
                last_error=row.last_error,
                cancel_reason=row.cancel_reason,
            )
            for row in tx.scalars(query)
        ]


@dataclass(frozen=True)
class OutboxItem:
    """One message for staff to send themselves."""

    id: int
    kind: str
    language: str
    due_at: datetime
    patient_id: int | None
    patient_name: str | None
    phone: str | None
    text: str
    check_in_link: str | None


def _links(runtime: Runtime, row: OutboundMessage) -> MessageLinks:
    base = runtime.settings.public_url.rstrip("/")
    if row.kind in PATIENT_KINDS and row.link_id is not None:
        token = runtime.signer.sign(row.link_id, "check-in")
        return MessageLinks(
            check_in=f"{base}/p/{token}/check-in",
            stop=f"{base}/p/{token}/stop",
            today=f"{base}/app",
        )
    return MessageLinks(today=f"{base}/app")


def outbox(runtime: Runtime, actor: Actor, now: datetime | None = None) -> list[OutboxItem]:
    """The clinic's due outbox messages, oldest first (each patient shown audited)."""
    actor.require("patients:read")
    moment = now or utcnow()
    query = (
        select(OutboundMessage, Patient)
        .outerjoin(Patient, Patient.id == OutboundMessage.patient_id)
        .where(
            OutboundMessage.clinic_id == actor.clinic_id,
            OutboundMessage.channel == "outbox",
            OutboundMessage.state == "scheduled",
            OutboundMessage.due_at <= moment,
        )
        .order_by(OutboundMessage.due_at, OutboundMessage.id)
        .limit(200)
    )
    items: list[OutboxItem] = []
    with runtime.db.write() as tx:
        for row, patient in tx.execute(query).all():
            links = _links(runtime, row)
            text = render(row.kind, row.language, dict(row.params or {}), links, runtime.kb)
            is_patient_message = row.kind in PATIENT_KINDS and patient is not None
            items.append(
                OutboxItem(
                    id=row.id,
                    kind=row.kind,
                    language=row.language,
                    due_at=row.due_at,
                    patient_id=row.patient_id if is_patient_message else None,
                    patient_name=(
                        f"{patient.given_name} {patient.family_name}"
                        if is_patient_message
                        else None
                    ),
                    phone=patient.phone if is_patient_message else None,
                    text=text.body,
                    check_in_link=links.check_in,
                )
            )
            if is_patient_message:
                audit.record(tx, actor, "read", "outbound-message", row.id, row.patient_id)
    return items


def mark_handled(
    runtime: Runtime, actor: Actor, message_id: int, now: datetime | None = None
) -> None:
    """Record that staff sent outbox message ``message_id`` themselves (audited)."""
    actor.require("patients:read")
    with runtime.db.write() as tx:
        row = tx.get(OutboundMessage, message_id)
        if row is None or row.clinic_id != actor.clinic_id or row.channel != "outbox":
            raise NotFound(f"no outbox message {message_id}")
        if row.state == "handled":
            return  # a second click: already done, nothing to change
        if row.state != "scheduled":
            raise Conflict(f"outbox message {message_id} is {row.state} and needs nothing more")
        row.state, row.handled_by, row.handled_at = "handled", actor.user_id, now or utcnow()
        audit.record(tx, actor, "handle", "outbound-message", row.id, row.patient_id)
