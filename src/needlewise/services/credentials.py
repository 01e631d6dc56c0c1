"""Staff credentials (browser sessions and API tokens): check them, end them.

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
them from this process's cache (:attr:`Runtime.credential_cache
<needlewise.services.runtime.Runtime.credential_cache>`) at once; other processes stop
accepting them within ``NEEDLEWISE_AUTH_CACHE_SECONDS``, when their cached check runs out.

Logging in is :mod:`needlewise.services.login`; minting, listing and revoking API tokens
is :mod:`needlewise.services.api_tokens`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from needlewise.errors import Unauthorized
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AuthSession, User
from needlewise.security.roles import Role
from needlewise.security.secrets import token_hash
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.credential_cache import CachedCheck
from needlewise.services.runtime import Runtime


def aware(moment: datetime) -> datetime:
    """``moment`` with UTC attached when the database gave it without a zone (SQLite)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def ends_at(runtime: Runtime, auth: AuthSession) -> datetime:
    """When ``auth`` stops working by time: its expiry, or the API-token cap if sooner."""
    expires = aware(auth.expires_at)
    if auth.kind == "api":
        capped = aware(auth.created_at) + timedelta(days=runtime.settings.api_token_days)
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
    hit = cached_check(runtime, token, remote)
    if hit is not None:
        return hit
    with runtime.db.read() as tx:
        row = tx.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.token_hash == key)
        ).first()
    if row is None:
        raise Unauthorized("not logged in")
    auth, user = row
    if not works(runtime, auth, user):
        runtime.credential_cache.drop(key)
        raise Unauthorized("your session has ended; log in again")
    ttl = runtime.settings.auth_cache_seconds
    actor = Actor(
        ref=f"user:{user.id}",
        remote=remote,
        user_id=user.id,
        role=Role(user.role),
        clinic_id=user.clinic_id,
    )
    if ttl > 0:
        left = (ends_at(runtime, auth) - utcnow()).total_seconds()
        runtime.credential_cache.keep(key, CachedCheck(user.id, actor, auth, now + min(ttl, left)))
    return actor, auth


def cached_check(
    runtime: Runtime, token: str, remote: str | None
) -> tuple[Actor, AuthSession] | None:
    """A still-fresh cached check of ``token`` (memory only, no database), else ``None``."""
    cached = runtime.credential_cache.fresh(token_hash(token))
    if cached is None:
        return None
    actor = cached.actor
    if actor.remote != remote:
        actor = replace(actor, remote=remote)
    return actor, cached.auth_session


def forget_sessions(runtime: Runtime, user_id: int | None = None) -> None:
    """Drop cached checks (of one user, or all) so a revocation applies at once here."""
    runtime.credential_cache.forget_user(user_id)


# ------------------------------------------------------------------ ending


def end_credentials(runtime: Runtime, tx: Session, user: User, keep: int | None = None) -> int:
    """Inside a write: raise ``user``'s credential epoch and revoke every session and
    token of theirs except the one with id ``keep`` (which moves to the new epoch).
    Returns how many were ended. Call :func:`forget_sessions` after the commit too."""
    user.credential_epoch = (user.credential_epoch or 0) + 1
    now = utcnow()
    ended = tx.scalars(
        select(AuthSession.id).where(
            AuthSession.user_id == user.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.id != (keep if keep is not None else -1),
        )
    ).all()
    if ended:
        tx.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(ended))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    if keep is not None:
        tx.execute(
            update(AuthSession)
            .where(AuthSession.id == keep)
            .values(user_epoch=user.credential_epoch)
            .execution_options(synchronize_session=False)
        )
    forget_sessions(runtime, user.id)
    return len(ended)


def logout(runtime: Runtime, token: str, actor: Actor) -> None:
    """End the session or token ``token`` (API tokens minted from it go on: list and
    revoke them with :mod:`needlewise.services.api_tokens`)."""
    runtime.credential_cache.drop(token_hash(token))
    with runtime.db.write() as tx:
        auth = tx.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
        if auth is not None and auth.revoked_at is None:
            auth.revoked_at = utcnow()
        audit.record(tx, actor, "logout", "session")
    runtime.credential_cache.drop(token_hash(token))
