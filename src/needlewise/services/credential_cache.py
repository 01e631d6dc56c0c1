"""The checks of staff credentials this process remembers (one per :class:`Runtime`).

A successful check of a session or API token is kept for ``NEEDLEWISE_AUTH_CACHE_SECONDS``
(never past the credential's own end), keyed by the token's hash, so most requests do
not touch the database (:func:`needlewise.services.credentials.authenticate`). A change
of a user's password, activity or role, a logout or a revoked token drops the entries at
once in this process; other processes (their own :class:`Runtime`) stop accepting them
when their entry runs out.

The cache lives on the :class:`~needlewise.services.runtime.Runtime` (not in a module
global), so two apps or tests in one process never share what they have checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from needlewise.persistence.models import AuthSession
from needlewise.services.actor import Actor

#: entries kept at most; past it the cache is emptied (a flood of distinct tokens must
#: not grow memory without bound)
LIMIT = 10_000


@dataclass(frozen=True)
class CachedCheck:
    """A successful check of one credential."""

    user_id: int
    actor: Actor  # as first seen; reused while requests come from the same address
    auth_session: AuthSession
    until: float  # time.monotonic() deadline: the cache time or the credential's expiry


@dataclass(eq=False)
class CredentialCache:
    """Successful credential checks by token hash (see the module docstring). Safe to
    share between the threads of one process: each operation is a single dict step or
    works on a copy of the items."""

    limit: int = LIMIT
    _checks: dict[str, CachedCheck] = field(default_factory=dict)

    def fresh(self, key: str) -> CachedCheck | None:
        """The check kept for token hash ``key`` if it has not run out."""
        cached = self._checks.get(key)
        if cached is None or cached.until <= time.monotonic():
            return None
        return cached

    def keep(self, key: str, check: CachedCheck) -> None:
        if len(self._checks) >= self.limit:
            self._checks.clear()
        self._checks[key] = check

    def drop(self, key: str) -> None:
        """Forget the check of token hash ``key`` (a logout, an ended credential)."""
        self._checks.pop(key, None)

    def forget_user(self, user_id: int | None = None) -> None:
        """Forget the checks of one user's credentials (``None``: of everyone)."""
        for key, cached in list(self._checks.items()):
            if user_id is None or cached.user_id == user_id:
                self._checks.pop(key, None)

    def forget_credential(self, credential_id: int) -> None:
        """Forget the check of the credential (session or API token) with this id."""
        for key, cached in list(self._checks.items()):
            if cached.auth_session.id == credential_id:
                self._checks.pop(key, None)
