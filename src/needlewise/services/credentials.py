"""Staff credentials: browser sessions and API tokens — check, list, end.

A credential (an :class:`AuthSession` row; only a hash of its token is stored) works
while all of these hold:

* it is not revoked (logout, a revoked token) and has not expired;
* an API token is younger than ``NEEDLEWISE_API_TOKEN_DAYS`` (also one minted before
  the setting was lowered);
* its user is active, and its ``user_epoch`` is the user's ``credential_epoch``: every
  change of the user's password, activity or role raises the epoch, so no credential
  made before such a change works after it — not even when the change is undone, and
  not even one minted in a race with the change (its epoch was read before it).

A change also marks the user's rows revoked (so listings show them ended) and drops
them from this process's cache at once; other processes stop accepting them within
``NEEDLEWISE_AUTH_CACHE_SECONDS``, when their cached check runs out.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from needlewise.errors import InputError, NotFound, Unauthorized
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AuthSession, User
from needlewise.security.roles import Role, allowed
from needlewise.security.secrets import new_token, token_hash
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime


class TokenIn(BaseModel):
    """A new API token: how long it lasts and what it is for."""

    model_config = ConfigDict(extra="forbid")
    days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="Days it lasts; at most NEEDLEWISE_API_TOKEN_DAYS (the default)",
    )
    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="What the token is for (shown when tokens are listed)",
    )


class TokenInfo(BaseModel):
    """An API token as listed: never the token itself (it is shown only once)."""

    id: int
    user_id: int
    label: str | None
    created_at: datetime
    expires_at: datetime = Field(description="When it stops working (the cap included)")
    remote: str | None = Field(description="The address it was minted from")
    current: bool = Field(description="True for the token making this request")


class TokenList(BaseModel):
    items: list[TokenInfo]


# ------------------------------------------------------------------ checking


@dataclass(frozen=True)
class _Cached:
    user_id: int
    actor: Actor  # as first seen; reused while requests come from the same address
    session: AuthSession
    until: float  # time.monotonic() deadline: the cache time or the session's expiry


_CACHE: dict[str, _Cached] = {}
_CACHE_LIMIT = 10_000


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def ends_at(runtime: Runtime, auth: AuthSession) -> datetime:
    """When ``auth`` stops working by time: its expiry, or the API-token cap if sooner."""
    expires = _aware(auth.expires_at)
    if auth.kind == "api":
        capped = _aware(auth.created_at) + timedelta(days=runtime.settings.api_token_days)
        return min(expires, capped)
    return expires


def works(runtime: Runtime, auth: AuthSession, user: User) -> bool:
    """Whether the credential ``auth`` of ``user`` works now (see the module docstring)."""
    return (
        auth.revoked_at is None
        and ends_at(runtime, auth) > utcnow()
        and user.active
        and auth.user_epoch == user.credential_epoch
    )


def authenticate(runtime: Runtime, token: str, remote: str | None) -> tuple[Actor, AuthSession]:
    """The actor behind a session or API token; ``Unauthorized`` when it is not valid.

    A successful check is reused for ``NEEDLEWISE_AUTH_CACHE_SECONDS`` (never past the
    credential's own end), which keeps the database off the path of most requests.
    """
    key = token_hash(token)
    now = time.monotonic()
    hit = cached_check(token, remote)
    if hit is not None:
        return hit
    with runtime.db.read() as session:
        row = session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.token_hash == key)
        ).first()
    if row is None:
        raise Unauthorized("not logged in")
    auth, user = row
    if not works(runtime, auth, user):
        _CACHE.pop(key, None)
        raise Unauthorized("your session has ended; log in again")
    ttl = runtime.settings.auth_cache_seconds
    if ttl > 0 and len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    actor = Actor(
        ref=f"user:{user.id}",
        remote=remote,
        user_id=user.id,
        role=Role(user.role),
        clinic_id=user.clinic_id,
    )
    if ttl > 0:
        left = (ends_at(runtime, auth) - utcnow()).total_seconds()
        _CACHE[key] = _Cached(user.id, actor, auth, now + min(ttl, left))
    return actor, auth


def cached_check(token: str, remote: str | None) -> tuple[Actor, AuthSession] | None:
    """A still-fresh cached check of ``token`` (memory only, no database), else ``None``."""
    cached = _CACHE.get(token_hash(token))
    if cached is None or cached.until <= time.monotonic():
        return None
    actor = cached.actor
    if actor.remote != remote:
        actor = replace(actor, remote=remote)
    return actor, cached.session


def forget_sessions(user_id: int | None = None) -> None:
    """Drop cached checks (of one user, or all) so a revocation applies at once here."""
    for key, cached in list(_CACHE.items()):
        if user_id is None or cached.user_id == user_id:
            _CACHE.pop(key, None)


def _forget_session(session_id: int) -> None:
    for key, cached in list(_CACHE.items()):
        if cached.session.id == session_id:
            _CACHE.pop(key, None)


# ------------------------------------------------------------------ ending


def end_credentials(session: Session, user: User, keep: int | None = None) -> int:
    """Inside a write: raise ``user``'s credential epoch and revoke every session and
    token of theirs except the one with id ``keep`` (which moves to the new epoch).
    Returns how many were ended. Call :func:`forget_sessions` after the commit too."""
    user.credential_epoch = (user.credential_epoch or 0) + 1
    now = utcnow()
    ended = session.scalars(
        select(AuthSession.id).where(
            AuthSession.user_id == user.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.id != (keep if keep is not None else -1),
        )
    ).all()
    if ended:
        session.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(ended))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    if keep is not None:
        session.execute(
            update(AuthSession)
            .where(AuthSession.id == keep)
            .values(user_epoch=user.credential_epoch)
            .execution_options(synchronize_session=False)
        )
    forget_sessions(user.id)
    return len(ended)


def logout(runtime: Runtime, token: str, actor: Actor) -> None:
    """End the session or token ``token`` (API tokens minted from it go on: list and
    revoke them with :func:`list_tokens` and :func:`revoke_token`)."""
    _CACHE.pop(token_hash(token), None)
    with runtime.db.write() as session:
        auth = session.scalar(
            select(AuthSession).where(AuthSession.token_hash == token_hash(token))
        )
        if auth is not None and auth.revoked_at is None:
            auth.revoked_at = utcnow()
        audit.record(session, actor, "logout", "session")
    _CACHE.pop(token_hash(token), None)


# ------------------------------------------------------------------ API tokens


def mint_api_token(
    runtime: Runtime,
    actor: Actor,
    days: int | None = None,
    *,
    label: str | None = None,
    parent: AuthSession | None = None,
) -> tuple[str, datetime]:
    """A bearer token for scripts and integrations, as the calling user.

    ``days`` defaults to (and may not exceed) ``NEEDLEWISE_API_TOKEN_DAYS``. ``parent``
    is the credential the request came with: the token is made under the same epoch, so
    a parent ended by a change just now cannot hand out a token that outlives it.
    """
    if actor.user_id is None:
        raise Unauthorized("only a staff login may mint an API token")
    cap = runtime.settings.api_token_days
    if days is None:
        days = cap
    if not 1 <= days <= cap:
        raise InputError(f"a token lasts 1 to {cap} days (NEEDLEWISE_API_TOKEN_DAYS)", "$.days")
    if label is not None and (
        not label.strip() or any(unicodedata.category(c) in ("Cc", "Cf") for c in label)
    ):
        raise InputError("a label needs visible text, without control characters", "$.label")
    token = new_token()
    expires = utcnow() + timedelta(days=days)
    with runtime.db.write() as session:
        user = session.get(User, actor.user_id)
        if user is None or not user.active:
            raise Unauthorized("your session has ended; log in again")
        epoch = user.credential_epoch
        if parent is not None:
            stored = session.get(AuthSession, parent.id)
            if stored is None or not works(runtime, stored, user):
                raise Unauthorized("your session has ended; log in again")
            epoch = stored.user_epoch
        session.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=actor.user_id,
                kind="api",
                csrf_token=new_token(),
                remote=actor.remote,
                user_epoch=epoch,
                label=label,
                expires_at=expires,
            )
        )
        session.flush()
        audit.record(session, actor, "create", "api-token")
    return token, expires


def _visible_user(session: Session, actor: Actor, user_id: int | None) -> int:
    """Whose tokens ``actor`` may see: their own, or (an admin) a user of their clinic."""
    if user_id is None or user_id == actor.user_id:
        if actor.user_id is None:
            raise Unauthorized("log in first")
        return actor.user_id
    actor.require("users:write")
    user = session.get(User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFound(f"no user {user_id}")
    return user_id


def list_tokens(
    runtime: Runtime, actor: Actor, user_id: int | None = None, current: int | None = None
) -> TokenList:
    """The API tokens that still work, of the caller (or, for an admin, of ``user_id``),
    newest first. ``current`` is the id of the caller's own credential."""
    with runtime.db.read() as session:
        owner = _visible_user(session, actor, user_id)
        user = session.get(User, owner)
        rows = session.scalars(
            select(AuthSession)
            .where(
                AuthSession.user_id == owner,
                AuthSession.kind == "api",
                AuthSession.revoked_at.is_(None),
            )
            .order_by(AuthSession.id.desc())
        ).all()
        items = [
            TokenInfo(
                id=row.id,
                user_id=row.user_id,
                label=row.label,
                created_at=_aware(row.created_at),
                expires_at=ends_at(runtime, row),
                remote=row.remote,
                current=row.id == current,
            )
            for row in rows
            if user is not None and works(runtime, row, user)
        ]
    return TokenList(items=items)


def revoke_token(runtime: Runtime, actor: Actor, token_id: int) -> TokenInfo:
    """End one API token: the caller's own, or (an admin) one of a user of their clinic.
    Anyone else's is "not found", as is a token already ended."""
    with runtime.db.write() as session:
        row = session.get(AuthSession, token_id)
        owner = session.get(User, row.user_id) if row is not None else None
        mine = row is not None and row.user_id == actor.user_id
        admin_of = (
            owner is not None
            and owner.clinic_id == actor.clinic_id
            and actor.role is not None
            and allowed(actor.role, "users:write")
        )
        if (
            row is None
            or owner is None
            or row.kind != "api"
            or row.revoked_at is not None
            or not (mine or admin_of)
        ):
            raise NotFound(f"no API token {token_id}")
        row.revoked_at = utcnow()
        audit.record(session, actor, "revoke", "api-token", row.id)
        info = TokenInfo(
            id=row.id,
            user_id=row.user_id,
            label=row.label,
            created_at=_aware(row.created_at),
            expires_at=ends_at(runtime, row),
            remote=row.remote,
            current=False,
        )
    _forget_session(token_id)
    return info
