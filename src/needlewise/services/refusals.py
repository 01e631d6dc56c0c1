"""Audit every refusal: one entry per refused request, committed before the answer.

A refusal entry says who (the user, the patient link, or ``anonymous`` when the caller
could not be identified), what (action, resource type, the resource and patient ids the
caller named itself — never ids read from records it may not see, or from an
unverified link token), the outcome (``denied`` or ``refused``), a short ``reason``
(:data:`needlewise.services.audit.REASONS`) and from where. It belongs to the caller's
clinic: the intruder's admin sees an attempt on another clinic's record, which reads
the same as an attempt on a record that does not exist.

The doors call :func:`record_refusal_async` (API) or :func:`record_refusal`; entries go
through the database's group commit, so a burst of refusals shares commits. A refusal
that cannot be recorded (the database is down) is logged, without data, and the
request is refused all the same.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from needlewise.persistence.db import Database
from needlewise.persistence.models import AuthSession, User
from needlewise.security.secrets import token_hash
from needlewise.services import audit
from needlewise.services.actor import Actor

log = logging.getLogger("needlewise.audit")


def anonymous(remote: str | None) -> Actor:
    """The actor of a caller the service could not identify (belongs to no clinic)."""
    return Actor(ref="anonymous", remote=remote)


def record_refusal(db: Database, values: dict[str, Any]) -> None:
    """Commit one refusal entry (made by :func:`needlewise.services.audit.entry`) now.
    Call it outside any write transaction of ``db``."""
    try:
        db.group.run([values], audit.write_entries)
    except Exception as exc:
        log.error("audit: a refusal could not be recorded (%s)", type(exc).__name__)


async def record_refusal_async(db: Database, values: dict[str, Any]) -> None:
    """:func:`record_refusal` for async code (no worker thread waits for the commit)."""
    try:
        await db.group.run_async([values], audit.write_entries)
    except Exception as exc:
        log.error("audit: a refusal could not be recorded (%s)", type(exc).__name__)


def refused_login(db: Database, email: str, remote: str, reason: str) -> None:
    """Record a refused login (e.g. rate-limited): the targeted account and its clinic
    when the email is a user's, else ``anonymous`` with no clinic. The email itself is
    never stored."""
    try:
        with db.read() as tx:
            found = tx.execute(
                select(User.id, User.clinic_id).where(User.email == email.strip().lower())
            ).first()
    except Exception as exc:  # the refusal stands; it is recorded as anonymous
        log.error("audit: the account of a refused login is unknown (%s)", type(exc).__name__)
        found = None
    actor = (
        Actor(ref=f"user:{found.id}", remote=remote, clinic_id=found.clinic_id)
        if found is not None
        else anonymous(remote)
    )
    record_refusal(db, audit.entry(actor, "login", "session", None, None, "refused", reason=reason))


def credential_owner(db: Database, token: str, remote: str | None) -> Actor | None:
    """The user behind a session or API token the service knows but no longer accepts
    (expired, ended, or its user deactivated); ``None`` for a token it never issued, or
    when the database cannot say."""
    try:
        with db.read() as tx:
            found = tx.execute(
                select(User.id, User.clinic_id)
                .join(AuthSession, AuthSession.user_id == User.id)
                .where(AuthSession.token_hash == token_hash(token))
            ).first()
    except Exception as exc:  # the refusal stands; it is recorded as anonymous
        log.error("audit: the owner of a refused credential is unknown (%s)", type(exc).__name__)
        return None
    if found is None:
        return None
    return Actor(ref=f"user:{found.id}", remote=remote, clinic_id=found.clinic_id)
