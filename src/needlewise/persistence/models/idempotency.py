"""Answers kept for ``Idempotency-Key`` retries (:mod:`needlewise.services.idempotency`).

One row per (caller scope, key): the hash of the request that used the key first, the
status and body it was answered with, and what it created. It is written in the same
transaction as the record, so a committed record always has its answer kept, and the
unique constraint lets only one of two simultaneous requests with a key create anything.
Rows are dropped once they expire (``NEEDLEWISE_IDEMPOTENCY_HOURS``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from needlewise.persistence.db import utcnow
from needlewise.persistence.models.base import Base, UtcDateTime


class IdempotencyKey(Base):
    """The first answer to a request that carried an ``Idempotency-Key``."""

    __tablename__ = "idempotency_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))  # clinic and caller: "3/user:7", "3/link:9"
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON)
    etag: Mapped[str | None] = mapped_column(String(80), nullable=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        # key first: lookups name the keys of a batch (key IN …), then match the scope
        UniqueConstraint("key", "scope", name="uq_idempotency_keys_key_scope"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )
