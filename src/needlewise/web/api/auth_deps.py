"""Who is calling, and may they? Dependencies shared by every protected router.

* ``Depends(staff("patients:read"))`` authenticates a staff member from the session
  cookie (then an ``X-CSRF-Token`` header is required on POST/PUT/PATCH/DELETE) or from
  ``Authorization: Bearer <API token>`` (no CSRF: browsers never send it by themselves),
  and checks the role grants the permission. The permission is kept on the dependency so
  the OpenAPI document and the authorization tests can read it.
* ``Depends(patient_link("check-in"))`` opens a patient link of that purpose.

Every refusal made here is audited (:mod:`needlewise.web.api.refusals`); an accepted
caller is left on ``request.state.actor`` so that refusals raised later in the request
are audited as theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from needlewise.errors import Forbidden, Unauthorized
from needlewise.security.secrets import same
from needlewise.services.actor import Actor
from needlewise.services.credentials import authenticate, cached_check
from needlewise.services.refusals import anonymous, credential_owner
from needlewise.services.runtime import Runtime
from needlewise.web.api import refusals

COOKIE = "nw_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def remote_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def credentials(request: Request) -> tuple[str, bool] | None:
    """(token, from_cookie) from the Authorization header or the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else None


def staff(permission: str | None) -> Callable[[Request], Awaitable[Actor]]:
    """A dependency that returns the calling staff member's :class:`Actor`.

    ``permission`` ``None`` means any logged-in staff member (e.g. logging out).
    """

    async def dependency(request: Request) -> Actor:
        found = credentials(request)
        remote = remote_of(request)
        if found is None:
            await refusals.record(request, anonymous(remote), "denied", "unauthenticated")
            raise Unauthorized("log in first (session cookie or Authorization: Bearer token)")
        token, from_cookie = found
        hit = cached_check(runtime(request), token, remote)  # memory only: no thread hop
        if hit is None:
            try:
                hit = await run_in_threadpool(authenticate, runtime(request), token, remote)
            except Unauthorized:
                await _refused_credential(request, token, remote)
                raise
        actor, session = hit
        if from_cookie and request.method in UNSAFE:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not same(sent, session.csrf_token):
                await refusals.record(request, actor, "denied", "csrf")
                raise Forbidden("missing or wrong X-CSRF-Token header (from the login response)")
        if permission is not None:
            try:
                actor.require(permission)
            except Forbidden:
                await refusals.record(request, actor, "denied", "forbidden")
                raise
        request.state.auth_session = session
        request.state.actor = actor
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"staff_{(permission or 'any').replace(':', '_').replace('-', '_')}"
    return dependency


async def _refused_credential(request: Request, token: str, remote: str) -> None:
    """Audit a credential that did not authenticate: as its user when the service
    issued it (expired, ended, user deactivated), else as ``anonymous``."""
    owner = await run_in_threadpool(credential_owner, runtime(request).db, token, remote)
    if owner is None:
        await refusals.record(request, anonymous(remote), "denied", "unknown-credential")
    else:
        await refusals.record(request, owner, "denied", "credential-ended")


def permission_of(dependency: Any) -> str | None:
    """The permission a ``staff(...)`` dependency checks (``None`` if it is not one)."""
    return getattr(dependency, "permission", None)


def patient_link(purpose: str) -> Callable[[Request], Awaitable[Actor]]:
    """A dependency that opens the patient link in the ``{token}`` path parameter.

    404 for a token that is not a valid link of this purpose, 410 when it has expired,
    was revoked, or (intake, consent) was already used.
    """

    async def dependency(request: Request) -> Actor:
        from needlewise.services.links import LinkRefused, open_link

        token = request.path_params.get("token", "")
        remote = remote_of(request)
        try:
            actor = await run_in_threadpool(open_link, runtime(request), token, purpose, remote)
        except LinkRefused as exc:
            who = exc.link if exc.link is not None else anonymous(remote)
            await refusals.record(request, who, exc.audit_outcome, exc.audit_reason)
            raise
        request.state.actor = actor
        return actor

    dependency.link_purpose = purpose  # type: ignore[attr-defined]
    dependency.__name__ = f"patient_link_{purpose.replace('-', '_')}"
    return dependency
