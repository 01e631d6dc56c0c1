"""A CDS client's JWT id (``jti``) is good for one call: claim it in the call's transaction.

The door checks a JWT's signature, issuer, audience and expiry; the use case then claims
its ``jti`` (:func:`claim_jwt_id`, or :func:`claim_many` for a group-commit batch) in the
same transaction as what the call writes. A second call with the same issuer and ``jti``
before the token expires is refused with :class:`~needlewise.errors.Unauthorized` and,
because the claim and the writes share the transaction, writes nothing. Two processes
racing with one ``jti`` collide on the table's unique key: one transaction fails, and
its retry sees the other's row.

Rows of expired tokens are dropped by :func:`purge_expired`, which the claims run at most
once per :data:`PURGE_EVERY` per process (one indexed ``DELETE``): the table holds only
the ids of tokens still alive, a few minutes' worth of calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, insert, or_, select, tuple_
from sqlalchemy.orm import Session

from needlewise.errors import Unauthorized
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import UsedJwtId
from needlewise.services.cds_caller import CdsCaller

UNKNOWN_EXPIRY = timedelta(days=1)
"""How long the id of a token without ``exp`` is kept (the door refuses such tokens)."""

PURGE_EVERY = 60.0
"""Seconds between purges of expired JWT ids (per process)."""

_purge_lock = threading.Lock()
_last_purge = 0.0


def replayed() -> Unauthorized:
    """The refusal of a replayed JWT (the message names no token)."""
    return Unauthorized("this JWT was already used (jti replay); sign a new JWT for each call")


def purge_expired(connection: Connection | Session, now: datetime | None = None) -> int:
    """Delete the ids of expired tokens; returns how many."""
    result = connection.execute(delete(UsedJwtId).where(UsedJwtId.expires_at < (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)


def _maybe_purge(connection: Connection | Session, now: datetime) -> None:
    global _last_purge
    with _purge_lock:
        due = time.monotonic() - _last_purge >= PURGE_EVERY
        if due:
            _last_purge = time.monotonic()
    if due:
        purge_expired(connection, now)


def claim_many(connection: Connection | Session, callers: Sequence[CdsCaller]) -> list[bool]:
    """Claim the ``jti`` of each caller (in order); ``False`` where it is a replay (seen
    before, in the table or earlier in ``callers``). Callers without a ``jti`` (unsigned
    calls let in by the development switch) claim nothing and get ``True``."""
    now = utcnow()
    _maybe_purge(connection, now)
    keys = [(c.client, c.jti) for c in callers if c.jti is not None]
    taken: set[tuple[str, str]] = set()
    if keys:
        rows = connection.execute(
            select(UsedJwtId.issuer, UsedJwtId.jti, UsedJwtId.expires_at).where(
                tuple_(UsedJwtId.issuer, UsedJwtId.jti).in_(keys)
            )
        ).all()
        stale = []
        for issuer, jti, expires_at in rows:
            if expires_at is not None and expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=now.tzinfo)
            if expires_at >= now:
                taken.add((issuer, jti))
            else:
                stale.append((issuer, jti))
        if stale:  # an expired token's id: its row goes, the new claim takes its place
            connection.execute(
                delete(UsedJwtId).where(
                    or_(*(and_(UsedJwtId.issuer == i, UsedJwtId.jti == j) for i, j in stale))
                )
            )
    granted: list[bool] = []
    new_rows = []
    for caller in callers:
        if caller.jti is None:
            granted.append(True)
            continue
        key = (caller.client, caller.jti)
        if key in taken:
            granted.append(False)
            continue
        taken.add(key)
        granted.append(True)
        new_rows.append(
            {
                "issuer": caller.client,
                "jti": caller.jti,
                "expires_at": caller.expires_at or now + UNKNOWN_EXPIRY,
            }
        )
    if new_rows:
        connection.execute(insert(UsedJwtId), new_rows)
    return granted


def claim_jwt_id(tx: Connection | Session, caller: CdsCaller) -> None:
    """Claim ``caller``'s ``jti`` in transaction ``tx``; raise :class:`Unauthorized` on
    a replay (the caller's transaction then rolls back: nothing is written)."""
    if not claim_many(tx, [caller])[0]:
        raise replayed()
