"""``Idempotency-Key``: a retried create gets the first answer instead of a second record.

A client that lost the answer to a create (a timeout, a crash of the server after the
commit) sends the same request again with the same ``Idempotency-Key`` header. The
first request stored the key, a hash of the request and the answer (status, body,
ETag) **in the same transaction as the record it created**; a retry with the same key
and the same request gets that answer back (and nothing new is created), a retry with
the same key and another request is refused (422 naming ``Idempotency-Key``).

* **Scope.** Keys belong to the caller: the clinic and the staff user, or the patient
  link (``3/user:7``, ``3/link:9``). Two callers using the same key never meet, so no one
  reads another's answer.
* **What counts as the same request.** The method, the path, the query string and the
  JSON body (keys sorted, so key order and spacing do not matter).
* **Races.** A unique constraint on (scope, key): of two simultaneous requests with one
  key, one creates and the other (rolled back) gets its answer.
* **Expiry.** ``NEEDLEWISE_IDEMPOTENCY_HOURS`` (24 h by default); after that a key may be
  used again. Expired rows are deleted as new keys are written.
* Only creates are kept: an answer that created nothing (a refusal, a rate limit) is not,
  and a retry runs again.

Replaying an answer is audited as a ``read`` of the record it created.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from needlewise.errors import InputError
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import IdempotencyKey
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime

HEADER = "Idempotency-Key"
MAX_KEY = 255
#: expired rows deleted per write of a new key (keeps the table small without a job)
PURGE_BATCH = 100

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to keep and replay: status, JSON body, optional ETag and Retry-After."""

    status: int
    body: Any
    etag: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class Resource:
    """What a create made (for the replay's audit entry)."""

    type: str
    id: object
    patient_id: int | None


@dataclass(frozen=True)
class Claim:
    """A request's claim on a key: who, which key, and the hash of the request."""

    scope: str
    key: str
    request_sha256: str
    expires_at: datetime

    @property
    def ident(self) -> tuple[str, str]:
        return (self.scope, self.key)


@dataclass(frozen=True)
class Once(Generic[T]):
    """A claim with the door's way of answering a service's result (``render``), so the
    service can keep the exact answer in its own transaction."""

    claim: Claim
    render: Callable[[T], Answer]


class KeyTaken(Exception):
    """Another request with the same key committed first: replay its answer instead."""

    def __init__(self, claim: Claim) -> None:
        super().__init__("idempotency key already used")
        self.claim = claim


def check_key(value: str) -> str:
    """The header's value if usable: 1-255 visible ASCII characters (e.g. a UUID)."""
    if not 1 <= len(value) <= MAX_KEY or not all("!" <= ch <= "~" for ch in value):
        raise InputError(
            f"send 1 to {MAX_KEY} visible ASCII characters without spaces (a UUID is best)",
            HEADER,
        )
    return value


def request_hash(method: str, path: str, query: str, document: Any) -> str:
    """sha256 of what makes two requests the same (the body with its keys sorted)."""
    digest = hashlib.sha256()
    for part in (method.upper(), path, query):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def claim_for(
    runtime: Runtime,
    actor: Actor,
    key: str,
    method: str,
    path: str,
    query: str,
    document: Any,
) -> Claim:
    """The claim of ``actor``'s request on ``key`` (``InputError`` for an unusable key)."""
    hours = runtime.settings.idempotency_hours
    return Claim(
        scope=f"{actor.clinic_id}/{actor.ref}",
        key=check_key(key),
        request_sha256=request_hash(method, path, query, document),
        expires_at=utcnow() + timedelta(hours=hours),
    )


def mismatch() -> InputError:
    """The refusal of a key used for another request."""
    return InputError(
        "this key was already used for another request (a different body, path or "
        "query); send a new key for a new request",
        HEADER,
    )


@dataclass(frozen=True)
class Kept:
    """A kept answer as read back."""

    request_sha256: str
    answer: Answer
    resource: Resource
    expired: bool


def _answer(row: Any) -> Answer:
    return Answer(status=row.status, body=row.body, etag=row.etag)


_COLUMNS = (
    IdempotencyKey.scope,
    IdempotencyKey.key,
    IdempotencyKey.request_sha256,
    IdempotencyKey.status,
    IdempotencyKey.body,
    IdempotencyKey.etag,
    IdempotencyKey.resource_type,
    IdempotencyKey.resource_id,
    IdempotencyKey.patient_id,
    IdempotencyKey.expires_at,
)


def find_many(connection: Connection, claims: Iterable[Claim]) -> dict[tuple[str, str], Kept]:
    """The kept answers of ``claims`` by (scope, key), expired ones marked."""
    wanted = {claim.ident for claim in claims}
    if not wanted:
        return {}
    now = utcnow()
    rows = connection.execute(
        select(*_COLUMNS).where(IdempotencyKey.key.in_(sorted({key for _, key in wanted})))
    )
    found: dict[tuple[str, str], Kept] = {}
    for row in rows:
        if (row.scope, row.key) in wanted:
            found[row.scope, row.key] = Kept(
                request_sha256=row.request_sha256,
                answer=_answer(row),
                resource=Resource(row.resource_type, row.resource_id, row.patient_id),
                expired=row.expires_at <= now,
            )
    return found


def replayed(kept: Kept | None, claim: Claim) -> Answer | None:
    """The answer to replay for ``claim`` (``None``: nothing kept, go ahead); an
    ``InputError`` when the key was used for another request."""
    if kept is None or kept.expired:
        return None
    if kept.request_sha256 != claim.request_sha256:
        raise mismatch()
    return kept.answer


def replay(runtime: Runtime, actor: Actor, claim: Claim) -> Answer | None:
    """The kept answer for ``claim`` read in its own transaction, audited as a read of
    the record it created; ``None`` when the key is new (or expired)."""
    with runtime.db.read() as tx:
        kept = find_many(tx.connection(), [claim]).get(claim.ident)
    answer = replayed(kept, claim)
    if answer is not None and kept is not None:
        resource = kept.resource
        audit.record_reads(runtime.db, actor, resource.type, [(resource.id, resource.patient_id)])
    return answer


def keep_many(connection: Connection, kept: Sequence[tuple[Claim, Answer, Resource]]) -> None:
    """Keep answers, in the caller's transaction (the one that created the records).

    Raises :class:`KeyTaken` when another transaction committed one of the keys first
    (the caller's transaction must then be rolled back, which raising does)."""
    if not kept:
        return
    now = utcnow()
    oldest = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.expires_at <= now)
        .limit(PURGE_BATCH)
        .scalar_subquery()
    )
    keys = sorted({claim.key for claim, _, _ in kept})
    # expired keys may be used again; and a few more expired rows go on the way
    connection.execute(
        delete(IdempotencyKey).where(IdempotencyKey.key.in_(keys), IdempotencyKey.expires_at <= now)
    )
    connection.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(oldest)))
    rows = [
        {
            "scope": claim.scope,
            "key": claim.key,
            "request_sha256": claim.request_sha256,
            "status": answer.status,
            "body": answer.body,
            "etag": answer.etag,
            "resource_type": resource.type,
            "resource_id": str(resource.id),
            "patient_id": resource.patient_id,
            "created_at": now,
            "expires_at": claim.expires_at,
        }
        for claim, answer, resource in kept
    ]
    try:
        connection.execute(insert(IdempotencyKey), rows)
    except IntegrityError:
        raise KeyTaken(kept[0][0]) from None


def keep(connection: Connection, once: Once[T] | None, result: T, resource: Resource) -> None:
    """Keep the answer ``once.render(result)`` (nothing without a claim)."""
    if once is not None:
        keep_many(connection, [(once.claim, once.render(result), resource)])
