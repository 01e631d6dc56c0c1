"""Changing one's own password (any staff member, while logged in).

It needs the current password; wrong ones count like failed logins
(:mod:`needlewise.services.login_limits`), with a limit per session. The new password
must pass the same policy as any other (:func:`needlewise.services.users.require_strong`).
Every other session and API token of the caller ends; the one making the request goes
on (:func:`needlewise.services.credentials.end_credentials`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from needlewise.errors import InputError, TooManyRequests, Unauthorized, audited
from needlewise.persistence.models import AuthSession, User
from needlewise.security.password_policy import MAX_LENGTH
from needlewise.security.secrets import hash_password, token_hash, verify_password
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.credentials import end_credentials, forget_sessions, works
from needlewise.services.login_limits import device_failures, email_key, record_failure
from needlewise.services.runtime import Runtime
from needlewise.services.users import UserOut, require_strong, user_out


class PasswordChange(BaseModel):
    """Change one's own password."""

    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=MAX_LENGTH)
    new_password: str = Field(
        max_length=MAX_LENGTH,
        description="At least 12 characters, not easy to guess (checked offline by zxcvbn)",
    )


class PasswordChanged(BaseModel):
    user: UserOut
    ended: int = Field(description="Other sessions and API tokens of yours that were ended")


def change_own_password(
    runtime: Runtime, actor: Actor, current: AuthSession, data: PasswordChange
) -> PasswordChanged:
    """Change the caller's own password. It needs the current password (wrong tries
    count like failed logins, with a limit per session); every other session and token
    of the caller ends, the one making the request goes on."""
    if actor.user_id is None:
        raise Unauthorized("log in first")
    attempt_key = token_hash(f"password-change:{current.id}")
    remote = actor.remote or "unknown"
    with runtime.db.read() as tx:
        user = tx.get(User, actor.user_id)
        if user is None or not works(runtime, current, user):
            raise Unauthorized("your session has ended; log in again")
        limited = device_failures(tx, runtime, attempt_key) >= runtime.settings.login_attempts
    if limited:
        with runtime.db.write() as tx:
            audit.record(tx, actor, "change-password", "user", actor.user_id, outcome="denied")
        raise audited(
            TooManyRequests(
                "too many wrong passwords; wait and try again",
                retry_after=runtime.settings.login_window_minutes * 60,
            )
        )
    key = email_key(user.email)
    if not verify_password(user.password_hash, data.current_password):
        with runtime.db.write() as tx:
            record_failure(tx, runtime, actor, key, remote, attempt_key, user.id)
            audit.record(tx, actor, "change-password", "user", user.id, outcome="denied")
        raise InputError("the current password is wrong", "$.current_password")
    if data.new_password == data.current_password:
        raise InputError("the new password is the same as the current one", "$.new_password")
    require_strong(data.new_password, "$.new_password", user.email, user.name)
    with runtime.db.write() as tx:
        stored = tx.get(User, actor.user_id, populate_existing=True)
        here = tx.get(AuthSession, current.id, populate_existing=True)
        if stored is None or here is None or not works(runtime, here, stored):
            raise Unauthorized("your session has ended; log in again")
        stored.password_hash = hash_password(data.new_password)
        ended = end_credentials(runtime, tx, stored, keep=current.id)
        tx.flush()
        audit.record(tx, actor, "change-password", "user", stored.id)
        out = user_out(stored)
    forget_sessions(runtime, actor.user_id)
    return PasswordChanged(user=out, ended=ended)
