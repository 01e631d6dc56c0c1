"""A CDS client's JWT id (``jti``) is good for one call: claim it in the call's transaction.

The door checks a JWT's signature, issuer, audience and expiry; the use case then claims
its ``jti`` (:func:`claim_jwt_id`, or :func:`claim_many` for a group-commit batch) in the
same transaction as what the call writes. A second call with the same issuer and ``jti``
before the token expires is refused with :class:`~needlewise.errors.Unauthorized` and,
because the claim and the writes share the transaction, writes nothing.

A claim is one statement for a whole batch: ``INSERT … ON CONFLICT (issuer, jti) DO
UPDATE … WHERE the stored token has expired RETURNING issuer, jti`` (SQLite ≥ 3.35 and
PostgreSQL). A row comes back for every id that was free (new, or its old token expired);
an id that does not come back is a replay. Two processes racing with one ``jti``: the
second waits for the first's transaction (the unique key), then sees its row.

Rows of expired tokens are dropped by :func:`purge_expired`, which the claims run at most
once per :data:`PURGE_EVERY` per process (one indexed ``DELETE``): the table holds only
the ids of tokens still alive, a few minutes' worth of calls.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from needlewise.errors import Unauthorized
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import UsedJwtId
from needlewise.services.cds_caller import CdsCaller

MAX_LENGTH = 255
"""Length of the issuer and jti columns."""

PURGE_EVERY = 60.0
"""Seconds between purges of expired JWT ids (per process)."""

UNKNOWN_EXPIRY = timedelta(days=1)
"""How long the id of a token without ``exp`` is kept (the door refuses such tokens)."""

_purge_lock = threading.Lock()
_last_purge = 0.0

_PURGE = delete(UsedJwtId).where(UsedJwtId.expires_at < bindparam("now"))


def _claim_statement(dialect: str) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(UsedJwtId)
    return statement.on_conflict_do_update(
        index_elements=[UsedJwtId.issuer, UsedJwtId.jti],
        set_={"expires_at": statement.excluded.expires_at},
        where=UsedJwtId.expires_at < bindparam("now", type_=UsedJwtId.expires_at.type),
    ).returning(UsedJwtId.issuer, UsedJwtId.jti)


_CLAIMS = {name: _claim_statement(name) for name in ("sqlite", "postgresql")}


def replayed() -> Unauthorized:
    """The refusal of a replayed JWT (the message names no token)."""
    return Unauthorized("this JWT was already used (jti replay); sign a new JWT for each call")


def purge_expired(connection: Connection | Session, now: datetime | None = None) -> int:
    """Delete the ids of expired tokens; returns how many."""
    result = connection.execute(_PURGE, {"now": now or utcnow()})
    return int(getattr(result, "rowcount", 0) or 0)


def _maybe_purge(connection: Connection | Session, now: datetime) -> None:
    global _last_purge
    with _purge_lock:
        due = time.monotonic() - _last_purge >= PURGE_EVERY
        if due:
            _last_purge = time.monotonic()
    if due:
        purge_expired(connection, now)


def _fit(text: str) -> str:
    """``text``, or its SHA-256 when longer than the column (255): the same id always
    gives the same key, so a long id is still caught when it is replayed."""
    if len(text) <= MAX_LENGTH:
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _key(caller: CdsCaller) -> tuple[str, str]:
    return _fit(caller.client), _fit(caller.jti or "")


def _dialect(connection: Connection | Session) -> str:
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    return bind.dialect.name


def claim_many(connection: Connection | Session, callers: Sequence[CdsCaller]) -> list[bool]:
    """Claim the ``jti`` of each caller (in order); ``False`` where it is a replay (its id
    is held by a live token, or came earlier in ``callers``). Callers without a ``jti``
    (unsigned calls let in by the development switch) claim nothing and get ``True``."""
    now = utcnow()
    _maybe_purge(connection, now)
    first: dict[tuple[str, str], int] = {}
    rows = []
    for index, caller in enumerate(callers):
        if caller.jti is None:
            continue
        key = _key(caller)
        if key in first:
            continue
        first[key] = index
        expires = caller.expires_at or now + UNKNOWN_EXPIRY
        rows.append({"issuer": key[0], "jti": key[1], "expires_at": expires, "now": now})
    granted_keys: set[tuple[str, str]] = set()
    if rows:
        claim = _CLAIMS[_dialect(connection)]
        # one INSERT … VALUES (…), (…) RETURNING for the batch (SQLAlchemy's
        # "insertmanyvalues"); ids that do not come back were held by a live token
        granted_keys = {(issuer, jti) for issuer, jti in connection.execute(claim, rows)}
    granted: list[bool] = []
    for index, caller in enumerate(callers):
        if caller.jti is None:
            granted.append(True)
            continue
        key = _key(caller)
        granted.append(first[key] == index and key in granted_keys)
    return granted


def claim_jwt_id(tx: Connection | Session, caller: CdsCaller) -> None:
    """Claim ``caller``'s ``jti`` in transaction ``tx``; raise :class:`Unauthorized` on
    a replay (the caller's transaction then rolls back: nothing is written)."""
    if not claim_many(tx, [caller])[0]:
        raise replayed()
