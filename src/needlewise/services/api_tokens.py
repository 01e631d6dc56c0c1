"""API tokens for scripts and integrations: mint one, list those that still work, revoke one.

An API token is a staff credential (:mod:`needlewise.services.credentials` says when one
works) that acts as the user who minted it, with a label and a lifetime of at most
``NEEDLEWISE_API_TOKEN_DAYS``. The token itself is shown once, when minted; only its hash
is stored. A user lists and revokes their own tokens; an admin those of the users of
their clinic.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from needlewise.errors import InputError, NotFound, Unauthorized
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AuthSession, User
from needlewise.security.roles import allowed
from needlewise.security.secrets import new_token, token_hash
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.credentials import aware, ends_at, works
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
    with runtime.db.write() as tx:
        user = tx.get(User, actor.user_id)
        if user is None or not user.active:
            raise Unauthorized("your session has ended; log in again")
        epoch = user.credential_epoch
        if parent is not None:
            stored = tx.get(AuthSession, parent.id)
            if stored is None or not works(runtime, stored, user):
                raise Unauthorized("your session has ended; log in again")
            epoch = stored.user_epoch
        tx.add(
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
        tx.flush()
        audit.record(tx, actor, "create", "api-token")
    return token, expires


def _visible_user(tx: Session, actor: Actor, user_id: int | None) -> int:
    """Whose tokens ``actor`` may see: their own, or (an admin) a user of their clinic."""
    if user_id is None or user_id == actor.user_id:
        if actor.user_id is None:
            raise Unauthorized("log in first")
        return actor.user_id
    actor.require("users:write")
    user = tx.get(User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFound(f"no user {user_id}")
    return user_id


def list_tokens(
    runtime: Runtime, actor: Actor, user_id: int | None = None, current: int | None = None
) -> TokenList:
    """The API tokens that still work, of the caller (or, for an admin, of ``user_id``),
    newest first. ``current`` is the id of the caller's own credential."""
    with runtime.db.read() as tx:
        owner = _visible_user(tx, actor, user_id)
        user = tx.get(User, owner)
        rows = tx.scalars(
            select(AuthSession)
            .where(
                AuthSession.user_id == owner,
                AuthSession.kind == "api",
                AuthSession.revoked_at.is_(None),
            )
            .order_by(AuthSession.id.desc())
        ).all()
        items = [
            token_info(runtime, row, current=row.id == current)
            for row in rows
            if user is not None and works(runtime, row, user)
        ]
    return TokenList(items=items)


def token_info(runtime: Runtime, row: AuthSession, *, current: bool) -> TokenInfo:
    """What a token's owner and their admins may see of it (never the secret)."""
    return TokenInfo(
        id=row.id,
        user_id=row.user_id,
        label=row.label,
        created_at=aware(row.created_at),
        expires_at=ends_at(runtime, row),
        remote=row.remote,
        current=current,
    )


def revoke_token(runtime: Runtime, actor: Actor, token_id: int) -> TokenInfo:
    """End one API token: the caller's own, or (an admin) one of a user of their clinic.
    Anyone else's is "not found", as is a token already ended."""
    with runtime.db.write() as tx:
        row = tx.get(AuthSession, token_id)
        owner = tx.get(User, row.user_id) if row is not None else None
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
        audit.record(tx, actor, "revoke", "api-token", row.id)
        info = token_info(runtime, row, current=False)
    runtime.credential_cache.forget_credential(token_id)
    return info
