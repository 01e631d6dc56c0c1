"""Write and read the append-only audit log.

Every write of patient data calls :func:`record` inside the same transaction as the
change; every read calls :func:`record_reads` right after it (the entries of many
requests share a group commit); every refusal is recorded too
(:mod:`needlewise.services.refusals`). Entries hold ids only, never patient data, and
each is chained to the one before by its hash (:mod:`needlewise.persistence.audit_chain`).

Outcomes: ``ok``; ``denied`` — the caller may not do this (no or a bad credential, a
role without the permission, a record outside the caller's clinic or one that does not
exist, a link that is not valid here); ``refused`` — the caller may, but not now (a rate
limit, a link that expired, was cancelled or used up, a clinical rule). A refusal's
``reason`` is one of :data:`REASONS`.

An entry belongs to a clinic (``clinic_id``): the acting user's or patient link's
clinic by default. Admins read their own clinic's entries only (:func:`list_entries`,
itself audited). Entries with no clinic (the system, unknown emails, tampered links,
requests with no credential) are for operators, who read the database itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from needlewise.persistence import audit_chain
from needlewise.persistence.db import Database, utcnow
from needlewise.persistence.models import AuditEntry
from needlewise.persistence.models.audit import add_at_commit, audit_table
from needlewise.services.actor import Actor
from needlewise.services.paging import Page, PageParams

Outcome = Literal["ok", "denied", "refused"]

#: why a request was refused (short codes; never patient data)
REASONS: dict[str, str] = {
    "unauthenticated": "no session cookie or API token",
    "unknown-credential": "a session or API token the service does not know",
    "credential-ended": "a session or API token that expired or was ended",
    "forbidden": "the caller's role does not grant this",
    "csrf": "a cookie session without the right X-CSRF-Token header",
    "not-found": "no such record for this caller (another clinic's answers the same)",
    "invalid-link": "a patient link whose signature does not verify",
    "wrong-purpose": "a genuine patient link used for another purpose",
    "expired-link": "a patient link past its expiry",
    "revoked-link": "a patient link the clinic cancelled",
    "used-link": "a single-use patient link already used",
    "rate-limited": "too many attempts; try again later",
    "wrong-password": "a login with a wrong password or an inactive account",
    "locked-out": "failed logins reached the limit: the account, address or device is locked",
    "gone": "no longer available",
    "already-acknowledged": "a check-in a clinician had already acknowledged",
    "stale-version": "a change made against an older version of the record",
    # a CDS Hooks call's JWT (the codes of needlewise.security.cds_jwt.REASONS)
    "malformed": "CDS Hooks: no readable 'Bearer <JWT>'",
    "algorithm-not-allowed": "CDS Hooks: alg none, HMAC, unknown, or not the key's",
    "unknown-issuer": "CDS Hooks: iss is not a registered CDS client",
    "jku-not-allowed": "CDS Hooks: a jku off the client's allow-list (never fetched)",
    "unknown-key": "CDS Hooks: no key with this kid, even in a freshly fetched key set",
    "bad-signature": "CDS Hooks: the signature does not verify",
    "missing-claim": "CDS Hooks: exp, iat, jti, iss or aud missing or of the wrong type",
    "expired": "CDS Hooks: the JWT's exp is past",
    "not-yet-valid": "CDS Hooks: the JWT's iat is in the future",
    "wrong-audience": "CDS Hooks: aud is not exactly the URL called",
    "replayed": "CDS Hooks: a JWT id already used",
}


def entry(
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object,
    patient_id: int | None,
    outcome: str = "ok",
    *,
    reason: str | None = None,
    clinic_id: int | None = None,
) -> dict[str, Any]:
    """One audit entry's columns (ids only, never patient data). ``clinic_id`` defaults
    to the actor's clinic."""
    return {
        "at": utcnow(),
        "actor": actor.ref,
        "action": action,
        "resource_type": resource_type,
        "resource_id": None if resource_id is None else str(resource_id),
        "patient_id": patient_id,
        "remote": actor.remote,
        "outcome": outcome,
        "reason": reason,
        "clinic_id": clinic_id if clinic_id is not None else actor.clinic_id,
    }


def record(
    tx: Session,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object = None,
    patient_id: int | None = None,
    outcome: str = "ok",
    *,
    reason: str | None = None,
    clinic_id: int | None = None,
) -> None:
    """Add one audit entry to ``session``: it joins the chain, and is committed, when
    the session commits (nothing is written if it rolls back)."""
    values = entry(
        actor,
        action,
        resource_type,
        resource_id,
        patient_id,
        outcome,
        reason=reason,
        clinic_id=clinic_id,
    )
    add_at_commit(tx, AuditEntry(**values))


def insert_many(connection: Connection, entries: list[dict[str, Any]]) -> None:
    """Append audit entries (made by :func:`entry`) to the chain now, on ``connection``
    (a write session's connection), in the same transaction as the change they record.

    For hot write paths that insert their rows with SQLAlchemy Core (check-ins)."""
    audit_chain.append(connection, audit_table(), entries)


def write_entries(connection: Connection, plans: list[list[dict[str, Any]]]) -> list[None]:
    """A group-commit writer (:class:`~needlewise.persistence.group_commit.GroupCommit`)
    for audit entries on their own (reads, refusals): each plan is one request's entries,
    and the requests of a burst share one transaction, one turn of the chain lock and
    one commit."""
    audit_chain.append(connection, audit_table(), [values for plan in plans for values in plan])
    return [None] * len(plans)


def record_now(db: Database, entries: list[dict[str, Any]]) -> None:
    """Commit ``entries`` (made by :func:`entry`) through the group commit and return
    once they are stored. Call it outside any write transaction of ``db``."""
    if entries:
        db.group.run(entries, write_entries)


def record_reads(
    db: Database, actor: Actor, resource_type: str, rows: Iterable[tuple[object, int | None]]
) -> None:
    """One ``read`` entry per (resource id, patient id) returned to the caller, stored
    before this returns (call it after the read, outside any write transaction)."""
    record_now(
        db,
        [
            entry(actor, "read", resource_type, resource_id, patient_id)
            for resource_id, patient_id in rows
        ],
    )


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
    reason: str | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def list_entries(
    db: Database,
    actor: Actor,
    page: PageParams,
    *,
    patient_id: int | None = None,
    actor_ref: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    resource_type: str | None = None,
    until: datetime | None = None,
) -> Page[AuditOut]:
    """The caller's clinic's audit entries, newest first, filtered (admin only): at or
    after ``since``, before ``until`` (a time without a zone is UTC). The read is audited
    in turn (``read`` of ``audit-log``, naming the patient filtered on)."""
    actor.require("audit:read")
    if actor.clinic_id is None:  # only staff of a clinic read its log
        return Page[AuditOut](items=[], total=0, limit=page.limit, offset=page.offset)
    conditions: list[Any] = [AuditEntry.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(AuditEntry.patient_id == patient_id)
    if actor_ref is not None:
        conditions.append(AuditEntry.actor == actor_ref)
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if outcome is not None:
        conditions.append(AuditEntry.outcome == outcome)
    if resource_type is not None:
        conditions.append(AuditEntry.resource_type == resource_type)
    if since is not None:
        conditions.append(AuditEntry.at >= _aware(since))
    if until is not None:
        conditions.append(AuditEntry.at < _aware(until))
    with db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
        rows = tx.scalars(
            select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        ).all()
        items = [AuditOut.model_validate(row, from_attributes=True) for row in rows]
    record_now(db, [entry(actor, "read", "audit-log", None, patient_id)])
    return Page[AuditOut](items=items, total=total, limit=page.limit, offset=page.offset)
