"""The append-only, hash-chained audit log of every read and write of patient data, and
of every refusal.

Database triggers refuse UPDATE and DELETE on this table (migration 0002) and, on
PostgreSQL, TRUNCATE (migration 0005). Each entry's ``hash`` chains it to the entry
before it (:mod:`needlewise.persistence.audit_chain`); new entries get their id and hash
when they are flushed, whichever way they are added (:func:`add_at_commit`,
``session.add`` or :func:`~needlewise.persistence.audit_chain.append`): importing this
module (as importing ``needlewise.persistence.models`` does) installs the session hooks
that stamp them. Entries never hold patient data beyond ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Index, Integer, String, Table, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from needlewise.persistence import audit_chain
from needlewise.persistence.db import utcnow
from needlewise.persistence.models.base import Base, UtcDateTime


class AuditEntry(Base):
    """Who did (or was refused) what to which record, when and from where.

    ``clinic_id`` scopes the entry: the acting user's or patient link's clinic; ``None``
    for the system and for callers the service could not place in a clinic (a login
    with an unknown email, a tampered link, no credential at all): those entries are
    shown to no clinic's admin, only to operators reading the database.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))  # user:ID, link:ID, system, anonymous
    action: Mapped[str] = mapped_column(String(20))  # read | create | update | login | …
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    patient_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(10), default="ok")  # ok | denied | refused
    clinic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)  # a code, no data
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "at"),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_clinic_id", "clinic_id", "id"),
    )


def audit_table() -> Table:
    """The audit log's table, for :mod:`needlewise.persistence.audit_chain`'s functions."""
    table = AuditEntry.__table__
    assert isinstance(table, Table)
    return table


def stamp_entries(connection: Connection, entries: Sequence[Any]) -> None:
    """Give new ``AuditEntry`` objects about to be flushed their ids and hashes, at the end
    of the chain (missing times and outcomes get their defaults first: typed ``Any``, as
    before the flush these columns can still be ``None``)."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        if entry.at is None:
            entry.at = utcnow()
        if entry.outcome is None:
            entry.outcome = "ok"
        rows.append({name: getattr(entry, name) for name in audit_chain.FIELDS})
    audit_chain.stamp(rows, audit_chain.head(connection, audit_table()))
    for entry, row in zip(entries, rows, strict=True):
        entry.id, entry.hash = row["id"], row["hash"]


_PENDING = "needlewise.audit.pending"


def add_at_commit(session: Session, entry: AuditEntry) -> None:
    """Add ``entry`` to ``session`` as it commits rather than now: it then joins the
    chain in the commit's own flush, so the chain lock (PostgreSQL) is held only while
    the transaction commits, not while the rest of its work runs."""
    session.info.setdefault(_PENDING, []).append(entry)


@event.listens_for(Session, "before_commit")
def _add_pending_entries(session: Session) -> None:
    entries = session.info.pop(_PENDING, None)
    if entries:
        session.add_all(entries)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending_entries(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed (already added) or rolled back
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, _context: Any, _instances: Any) -> None:
    """New audit entries get their place in the chain (id and hash) as they are flushed."""
    entries = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    if entries:
        stamp_entries(session.connection(), entries)
