"""The failed-login limit: counting wrong passwords, and the lockouts they start.

``NEEDLEWISE_LOGIN_ATTEMPTS`` failed logins for one email, or four times that from one
client address, within ``NEEDLEWISE_LOGIN_WINDOW_MINUTES`` lock further logins for that
email or address (429 with ``Retry-After``), whether or not the password is right. A
known device (:mod:`needlewise.services.login`) has a limit of its own and, while it has
tries left, gets through the email's and the address's. Wrong current passwords when
changing one's own password (:mod:`needlewise.services.password_change`) count the same
way, with the session in place of the device. Emails are stored only as a hash
(:func:`email_key`); each lockout is audited once, when its count reaches the limit.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from needlewise.errors import TooManyRequests
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import LoginAttempt
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime


def email_key(email: str) -> str:
    """What the login limit stores instead of an email."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _failures(tx: Session, since: datetime, *where: object) -> int:
    return (
        tx.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.at >= since, ~LoginAttempt.succeeded, *where)  # type: ignore[arg-type]
        )
        or 0
    )


def _since(runtime: Runtime) -> datetime:
    return utcnow() - timedelta(minutes=runtime.settings.login_window_minutes)


def too_many(runtime: Runtime) -> TooManyRequests:
    return TooManyRequests(
        "too many failed logins; wait and try again",
        retry_after=runtime.settings.login_window_minutes * 60,
    )


def device_failures(tx: Session, runtime: Runtime, device_key: str) -> int:
    """Failed attempts from one device (or one session's password changes) in the window."""
    return _failures(tx, _since(runtime), LoginAttempt.device_key == device_key)


def locked(tx: Session, runtime: Runtime, key: str, remote: str, device_key: str | None) -> bool:
    """Whether a login for email ``key`` from ``remote`` is refused now.

    ``device_key`` is a known device of this user: while it has tries left, the email's
    and the address's limits do not apply to it."""
    limit = runtime.settings.login_attempts
    since = _since(runtime)
    if device_key is not None and device_failures(tx, runtime, device_key) < limit:
        return False
    return (
        _failures(tx, since, LoginAttempt.email_key == key) >= limit
        or _failures(tx, since, LoginAttempt.remote == remote) >= 4 * limit
    )


def record_failure(
    tx: Session,
    runtime: Runtime,
    actor: Actor,
    key: str,
    remote: str,
    device_key: str | None,
    user_id: int | None,
) -> None:
    """Inside a write: store one failed attempt and audit the lockouts it starts (the
    email's, the address's, the device's), each once, when its count reaches the limit."""
    tx.add(
        LoginAttempt(
            email_key=key, remote=remote, device_key=device_key, succeeded=False, at=utcnow()
        )
    )
    tx.flush()
    limit = runtime.settings.login_attempts
    since = _since(runtime)
    if _failures(tx, since, LoginAttempt.email_key == key) == limit:
        audit.record(
            tx, actor, "lockout", "account", user_id, outcome="denied", reason="locked-out"
        )
    if _failures(tx, since, LoginAttempt.remote == remote) == 4 * limit:
        audit.record(tx, actor, "lockout", "address", remote, outcome="denied", reason="locked-out")
    if device_key is not None and device_failures(tx, runtime, device_key) == limit:
        audit.record(tx, actor, "lockout", "device", user_id, outcome="denied", reason="locked-out")
