"""Write and read the append-only audit log.

Every read or write of patient data calls :func:`record` inside the same transaction as
the change (writes) or right after the read. Entries hold ids only, never patient data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, select
from sqlalchemy import insert as sa_insert
from sqlalchemy.orm import Session

from needlewise.persistence.db import Database, utcnow
from needlewise.persistence.models import AuditEntry
from needlewise.services.actor import Actor
from needlewise.services.pages import Page, PageParams


def entry(
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object,
    patient_id: int | None,
    outcome: str = "ok",
) -> dict[str, Any]:
    """One audit entry's columns (ids only, never patient data)."""
    return {
        "at": utcnow(),
        "actor": actor.ref,
        "action": action,
        "resource_type": resource_type,
        "resource_id": None if resource_id is None else str(resource_id),
        "patient_id": patient_id,
        "remote": actor.remote,
        "outcome": outcome,
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object = None,
    patient_id: int | None = None,
    outcome: str = "ok",
) -> None:
    """Add one audit entry to ``session`` (committed with the session)."""
    session.add(AuditEntry(**entry(actor, action, resource_type, resource_id, patient_id, outcome)))


def insert_many(connection: Connection, entries: list[dict[str, Any]]) -> None:
    """Insert audit entries (made by :func:`entry`) now, on ``connection`` (a write
    session's connection), in the same transaction as the change they record.

    For hot write paths that insert their rows with SQLAlchemy Core (check-ins)."""
    if entries:
        connection.execute(sa_insert(AuditEntry), entries)


def record_reads(
    db: Database, actor: Actor, resource_type: str, rows: Iterable[tuple[object, int | None]]
) -> None:
    """One ``read`` entry per (resource id, patient id) returned to the caller."""
    entries = list(rows)
    if not entries:
        return
    with db.write() as session:
        for resource_id, patient_id in entries:
            record(session, actor, "read", resource_type, resource_id, patient_id)


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: int | None
    remote: str | None
    outcome: str


def list_entries(
    db: Database,
    actor: Actor,
    page: PageParams,
    *,
    patient_id: int | None = None,
    actor_ref: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
) -> Page[AuditOut]:
    """Audit entries, newest first, filtered (admin only)."""
    actor.require("audit:read")
    query = select(AuditEntry)
    conditions: list[Any] = []
    if patient_id is not None:
        conditions.append(AuditEntry.patient_id == patient_id)
    if actor_ref is not None:
        conditions.append(AuditEntry.actor == actor_ref)
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if since is not None:
        aware = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        conditions.append(AuditEntry.at >= aware)
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
        rows = session.scalars(
            query.where(*conditions)
            .order_by(AuditEntry.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        ).all()
        items = [AuditOut.model_validate(row, from_attributes=True) for row in rows]
    return Page[AuditOut](items=items, total=total, limit=page.limit, offset=page.offset)
