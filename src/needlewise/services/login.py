"""Logging in: passwords, the failed-login limit, known devices, and the audit of it all.

* A login checks the password (argon2) and opens a browser session (see
  :mod:`needlewise.services.credentials`).
* **The limit.** ``NEEDLEWISE_LOGIN_ATTEMPTS`` failed logins for one email, or four
  times that from one client address, within ``NEEDLEWISE_LOGIN_WINDOW_MINUTES`` lock
  further logins for that email or address (429 with ``Retry-After``), whether or not
  the password is right (counted by :mod:`needlewise.services.login_limits`).
* **Known devices.** A successful login hands the browser a signed device cookie naming
  its users (http-only, secure, ``NEEDLEWISE_DEVICE_COOKIE_DAYS``). From a known device
  of that user the right password gets through a lockout of the email or the address, so
  an attacker who types wrong passwords for someone's email cannot keep them out. The
  device has its own limit: its wrong passwords count (for the device, the email and the
  address), and when the device is out of tries it is treated like any other.
* Every login, refused login and lockout is audited (never with the email).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from needlewise.errors import Unauthorized
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AuthSession, LoginAttempt, User
from needlewise.security.secrets import (
    DEVICE_USERS,
    DUMMY_HASH,
    Device,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.login_limits import email_key, locked, record_failure, too_many
from needlewise.services.runtime import Runtime
from needlewise.services.users import UserOut, user_out

#: the device cookie's name; the API sets it on ``/api/auth`` only
DEVICE_COOKIE = "nw_device"


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
    device_cookie: str  # the signed device cookie to set (this browser is now known)


def _device_after(device: Device | None, user_id: int) -> Device:
    """The device cookie after ``user_id`` logged in on it (a new device if none)."""
    if device is None:
        return Device(secrets.token_urlsafe(16), (user_id,))
    others = tuple(u for u in device.user_ids if u != user_id)
    return Device(device.id, ((user_id, *others))[:DEVICE_USERS])


def login(
    runtime: Runtime,
    credentials: LoginIn,
    remote: str,
    kind: str = "browser",
    device_cookie: str | None = None,
) -> LoginResult:
    """Check the password and open a session. Raises ``Unauthorized`` (wrong email or
    password, or an inactive account: the same answer) or ``TooManyRequests``.

    ``device_cookie`` is the browser's device cookie, if it sent one; the result carries
    the cookie to set in its place.
    """
    settings = runtime.settings
    email = credentials.email.strip().lower()
    key = email_key(email)
    device = runtime.signer.open_device(device_cookie, settings.device_cookie_days * 86400)
    with runtime.db.read() as tx:
        user = tx.scalar(select(User).where(User.email == email))
        known = device is not None and user is not None and user.id in device.user_ids
        refused = locked(tx, runtime, key, remote, device.key if known and device else None)
    actor = Actor(
        ref=f"user:{user.id}" if user else "anonymous",
        remote=remote,
        clinic_id=user.clinic_id if user else None,
    )
    if refused:
        with runtime.db.write() as tx:
            audit.record(tx, actor, "login", "session", outcome="refused", reason="rate-limited")
        raise too_many(runtime)

    valid = verify_password(user.password_hash if user else DUMMY_HASH, credentials.password)
    ok = bool(user and user.active and valid)
    device_key = device.key if device is not None else None
    with runtime.db.write() as tx:
        if not ok or user is None:
            record_failure(tx, runtime, actor, key, remote, device_key, user.id if user else None)
            audit.record(tx, actor, "login", "session", outcome="denied", reason="wrong-password")
        else:
            tx.add(
                LoginAttempt(
                    email_key=key, remote=remote, device_key=device_key, succeeded=True, at=utcnow()
                )
            )
            audit.record(tx, actor, "login", "session")
            if needs_rehash(user.password_hash):
                stored = tx.get(User, user.id)
                if stored is not None:
                    stored.password_hash = hash_password(credentials.password)
            token, csrf = new_token(), new_token()
            expires = utcnow() + timedelta(hours=settings.session_hours)
            tx.add(
                AuthSession(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    kind=kind,
                    csrf_token=csrf,
                    remote=remote,
                    # the epoch read with the password hash: a change since then ends it
                    user_epoch=user.credential_epoch,
                    expires_at=expires,
                )
            )
    if not ok or user is None:
        raise Unauthorized("wrong email or password")
    cookie = runtime.signer.sign_device(_device_after(device, user.id))
    return LoginResult(
        token=token, csrf_token=csrf, expires_at=expires, user=user_out(user), device_cookie=cookie
    )
