"""The append-only audit log of every read and write of patient data.

Database triggers (migration 0002) refuse UPDATE and DELETE on this table; entries
never hold patient data beyond ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from needlewise.persistence.db import utcnow
from needlewise.persistence.models.base import Base, UtcDateTime


class AuditEntry(Base):
    """Who did what to which patient's data, when and from where."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))  # user:ID, link:ID, system, anonymous
    action: Mapped[str] = mapped_column(String(20))  # read | create | update | login | …
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    patient_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(10), default="ok")  # ok | denied
    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "at"),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
    )
