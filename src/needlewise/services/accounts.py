"""Staff accounts: log in and out, authenticate requests, manage users.

* Passwords are hashed with argon2 and never leave this module.
* A login creates an :class:`AuthSession`; the browser gets its token in a secure,
  http-only, SameSite=Lax cookie and a CSRF token to send back in ``X-CSRF-Token`` on
  every unsafe request. Scripts can mint an API token (``Authorization: Bearer``),
  which needs no CSRF token.
* Failed logins are limited per email and per client address; past the limit the
  answer is 429 with ``Retry-After``, whether or not the password is right.
* Only hashes of tokens are stored; a login and a failed login are audited.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from sqlalchemy import func, select

from needlewise.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AuthSession, LoginAttempt, User
from needlewise.security.roles import Role
from needlewise.security.secrets import (
    DUMMY_HASH,
    MIN_PASSWORD,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.pages import Page, PageParams
from needlewise.services.refusals import refused_login
from needlewise.services.runtime import Runtime

Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD, max_length=200)]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


@dataclass(frozen=True)
class LoginResult:
    token: str
    csrf_token: str
    expires_at: datetime
    user: UserOut


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    clinic_id: int
    version: int


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: Password


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    password: Password | None = None


def _email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        active=user.active,
        clinic_id=user.clinic_id,
        version=user.version,
    )


def _check_rate(runtime: Runtime, email_key: str, remote: str) -> None:
    settings = runtime.settings
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    with runtime.db.read() as session:
        by_email = session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.email_key == email_key,
                LoginAttempt.at >= since,
                ~LoginAttempt.succeeded,
            )
        )
        by_remote = session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.remote == remote, LoginAttempt.at >= since, ~LoginAttempt.succeeded)
        )
    if (by_email or 0) >= settings.login_attempts or (
        by_remote or 0
    ) >= 4 * settings.login_attempts:
        raise TooManyRequests(
            "too many failed logins; wait and try again",
            retry_after=settings.login_window_minutes * 60,
        )


def login(
    runtime: Runtime, credentials: LoginIn, remote: str, kind: str = "browser"
) -> LoginResult:
    """Check the password and open a session. Raises ``Unauthorized`` or ``TooManyRequests``."""
    email = credentials.email.strip().lower()
    key = _email_key(email)
    try:
        _check_rate(runtime, key, remote)
    except TooManyRequests:
        refused_login(runtime.db, email, remote, "rate-limited")
        raise
    with runtime.db.read() as session:
        user = session.scalar(select(User).where(User.email == email))
    valid = verify_password(user.password_hash if user else DUMMY_HASH, credentials.password)
    ok = bool(user and user.active and valid)
    with runtime.db.write() as session:
        session.add(LoginAttempt(email_key=key, remote=remote, succeeded=ok, at=utcnow()))
        actor = Actor(
            ref=f"user:{user.id}" if user else "anonymous",
            remote=remote,
            clinic_id=user.clinic_id if user else None,
        )
        audit.record(
            session,
            actor,
            "login",
            "session",
            outcome="ok" if ok else "denied",
            reason=None if ok else "wrong-password",
        )
        if not ok or user is None:
            raise_after = True
        else:
            raise_after = False
            if needs_rehash(user.password_hash):
                stored = session.get(User, user.id)
                if stored is not None:
                    stored.password_hash = hash_password(credentials.password)
            token, csrf = new_token(), new_token()
            hours = runtime.settings.session_hours
            expires = utcnow() + timedelta(hours=hours)
            session.add(
                AuthSession(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    kind=kind,
                    csrf_token=csrf,
                    remote=remote,
                    expires_at=expires,
                )
            )
    if raise_after or user is None:
        raise Unauthorized("wrong email or password")
    return LoginResult(token=token, csrf_token=csrf, expires_at=expires, user=_user_out(user))


@dataclass(frozen=True)
class _Cached:
    user_id: int
    actor: Actor  # as first seen; reused while requests come from the same address
    session: AuthSession
    until: float  # time.monotonic() deadline: the cache time or the session's expiry


_CACHE: dict[str, _Cached] = {}
_CACHE_LIMIT = 10_000


def authenticate(runtime: Runtime, token: str, remote: str | None) -> tuple[Actor, AuthSession]:
    """The actor behind a session or API token; ``Unauthorized`` when it is not valid.

    A successful check is reused for ``NEEDLEWISE_AUTH_CACHE_SECONDS`` (never past the
    session's own expiry), which keeps the database off the path of most requests.
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
            .where(AuthSession.token_hash == token_hash(token))
        ).first()
    if row is None:
        raise Unauthorized("not logged in")
    auth, user = row
    if auth.revoked_at is not None or auth.expires_at <= utcnow() or not user.active:
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
        left = (auth.expires_at - utcnow()).total_seconds()
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


def logout(runtime: Runtime, token: str, actor: Actor) -> None:
    _CACHE.pop(token_hash(token), None)
    with runtime.db.write() as session:
        auth = session.scalar(
            select(AuthSession).where(AuthSession.token_hash == token_hash(token))
        )
        if auth is not None and auth.revoked_at is None:
            auth.revoked_at = utcnow()
        audit.record(session, actor, "logout", "session")


def mint_api_token(runtime: Runtime, actor: Actor, days: int) -> tuple[str, datetime]:
    """A bearer token for scripts and integrations, as the calling user."""
    assert actor.user_id is not None
    token = new_token()
    expires = utcnow() + timedelta(days=days)
    with runtime.db.write() as session:
        session.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=actor.user_id,
                kind="api",
                csrf_token=new_token(),
                remote=actor.remote,
                expires_at=expires,
            )
        )
        audit.record(session, actor, "create", "api-token")
    return token, expires


def me(runtime: Runtime, actor: Actor) -> UserOut:
    with runtime.db.read() as session:
        user = session.get(User, actor.user_id)
        if user is None:
            raise Unauthorized("not logged in")
        return _user_out(user)


def create_user(
    runtime: Runtime, actor: Actor, data: UserIn, clinic_id: int | None = None
) -> UserOut:
    actor.require("users:write")
    email = str(data.email).strip().lower()
    with runtime.db.write() as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict("a user with this email already exists")
        user = User(
            clinic_id=clinic_id if clinic_id is not None else actor.clinic_id,
            email=email,
            name=data.name,
            role=data.role.value,
            password_hash=hash_password(data.password),
        )
        session.add(user)
        session.flush()
        audit.record(session, actor, "create", "user", user.id)
        return _user_out(user)


def list_users(runtime: Runtime, actor: Actor, page: PageParams) -> Page[UserOut]:
    actor.require("users:read")
    with runtime.db.read() as session:
        where = User.clinic_id == actor.clinic_id
        total = session.scalar(select(func.count()).select_from(User).where(where)) or 0
        users = session.scalars(
            select(User).where(where).order_by(User.id).limit(page.limit).offset(page.offset)
        )
        return Page[UserOut](
            items=[_user_out(u) for u in users], total=total, limit=page.limit, offset=page.offset
        )


def get_user(runtime: Runtime, actor: Actor, user_id: int) -> UserOut:
    actor.require("users:read")
    with runtime.db.read() as session:
        user = session.get(User, user_id)
        if user is None or user.clinic_id != actor.clinic_id:
            raise NotFound(f"no user {user_id}")
        return _user_out(user)


def update_user(
    runtime: Runtime, actor: Actor, user_id: int, expected_version: int, data: UserPatch
) -> UserOut:
    from needlewise.services.records import check_version

    actor.require("users:write")
    with runtime.db.write() as session:
        user = session.get(User, user_id)
        if user is None or user.clinic_id != actor.clinic_id:
            raise NotFound(f"no user {user_id}")
        check_version("user", user.version, expected_version)
        if data.name is not None:
            user.name = data.name
        if data.role is not None:
            user.role = data.role.value
        if data.active is not None:
            user.active = data.active
        if data.password is not None:
            user.password_hash = hash_password(data.password)
        if data.active is False or data.password is not None or data.role is not None:
            for auth in session.scalars(
                select(AuthSession).where(
                    AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None)
                )
            ):
                if data.role is None:  # a deactivated user or a new password ends every session
                    auth.revoked_at = utcnow()
            forget_sessions(user.id)  # a new role applies at once on this process
        session.flush()
        audit.record(session, actor, "update", "user", user.id)
        return _user_out(user)
