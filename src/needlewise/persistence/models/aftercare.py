"""Aftercare: the messages the clinic sends (or must send itself) and outcome scores.

* :class:`OutboundMessage` — one message to a patient or to the clinic: a scheduled
  check-in invitation, its one reminder, an alert to the clinic's alert address about an
  emergency or call-provider check-in, or a repeat of that alert. Rows are the queue of
  record (a transactional outbox): a use case inserts them in the same transaction as the
  change that causes them, and the worker (``needlewise worker``, :mod:`needlewise.jobs`)
  sends the ones that are due. ``idempotency_key`` is unique and is the email's
  ``Message-ID``; the worker records a send in the same transaction as the row's change
  from ``sending`` to ``sent``, so a restarted worker never sends a ``sent`` row again.
  ``channel`` ``outbox`` marks a message the clinic handles itself (SMS, a phone call):
  it is listed on the outbox page until a staff member marks it ``handled``.
  No patient data is kept in ``params`` beyond ids; the text is rendered when sent.
* :class:`OutcomeScore` — one scored outcome measure (NPRS, PSFS, NDI, ODI, ...) for a
  patient, at a session or a check-in or on its own, with the item answers it came from.

States of a message: ``scheduled`` (waiting for ``due_at``), ``sending`` (claimed by a
worker), ``sent``, ``handled`` (outbox: done by staff), ``cancelled`` (answered, opted
out, acknowledged, or its session was removed; ``cancel_reason`` says which) and
``failed`` (gave up after retries; ``last_error`` says why, with no patient data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from needlewise.persistence.db import utcnow
from needlewise.persistence.models.base import Base, UtcDateTime

#: what a message is for
MESSAGE_KINDS = ("check-in", "check-in-reminder", "clinic-alert", "clinic-realert")
#: where a message goes: an email we send, or the outbox the clinic works through itself
CHANNELS = ("email", "outbox")
STATES = ("scheduled", "sending", "sent", "handled", "cancelled", "failed")


class OutboundMessage(Base):
    """One message the clinic sends or must send (see the module docstring)."""

    __tablename__ = "outbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id"), nullable=True, index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id"), nullable=True, index=True
    )
    check_in_id: Mapped[int | None] = mapped_column(
        ForeignKey("check_ins.id"), nullable=True, index=True
    )
    link_id: Mapped[int | None] = mapped_column(ForeignKey("patient_links.id"), nullable=True)
    #: the message this one reminds of or repeats (a reminder's check-in invitation)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    #: the knowledge-base rule that scheduled it (e.g. ``aftercare.check-in-24h``)
    rule: Mapped[str | None] = mapped_column(String(80), nullable=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    language: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(20), default="scheduled")
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it
    __table_args__ = (
        Index("ix_outbound_messages_state_due", "state", "due_at"),
        Index("ix_outbound_messages_clinic_created", "clinic_id", "created_at"),
    )


class OutcomeScore(Base):
    """One scored outcome measure for a patient (see the module docstring)."""

    __tablename__ = "outcome_scores"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id"), nullable=True, index=True
    )
    check_in_id: Mapped[int | None] = mapped_column(
        ForeignKey("check_ins.id"), nullable=True, index=True
    )
    #: the knowledge-base measure id (``measure.nprs``, ``measure.psfs``, ...)
    measure: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    #: the item answers the score was computed from (PSFS: the activities and ratings)
    items: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    knowledge_version: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        Index("ix_outcome_scores_patient_measure", "patient_id", "measure", "recorded_at"),
    )
