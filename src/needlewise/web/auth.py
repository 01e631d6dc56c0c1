"""Who is calling, and may they? The authentication dependencies of every web door.

* ``Depends(staff("patients:read"))`` authenticates a staff member from the session
  cookie or from ``Authorization: Bearer <API token>``, and checks the role grants the
  permission. The permission is kept on the dependency so the OpenAPI document and the
  authorization tests can read it. A cookie session must also prove, on
  POST/PUT/PATCH/DELETE, that the request comes from our own page or script: it sends
  the session's CSRF token (from the login answer or ``GET /api/auth/me``) in the
  ``X-CSRF-Token`` header (scripts, the API) or, from an HTML form
  (``application/x-www-form-urlencoded``), in a ``csrf_token`` field (pages). A bearer
  token needs neither: browsers never send it by themselves.
* ``Depends(patient_link("check-in"))`` opens a patient link of that purpose;
  :func:`submitting_link` also reopens a used single-use link for the retry of the
  submission that used it; :func:`any_patient_link` opens a link of any purpose.

Every refusal made here is audited (:mod:`needlewise.web.refusals`); an accepted caller
is left on ``request.state.actor`` so that refusals raised later in the request are
audited as theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from needlewise.errors import Forbidden, Unauthorized
from needlewise.security.secrets import same
from needlewise.services import idempotency
from needlewise.services.actor import Actor
from needlewise.services.credentials import authenticate, cached_check
from needlewise.services.refusals import anonymous, credential_owner
from needlewise.web import refusals
from needlewise.web.bodies import body_limit, declared_too_large, media_type
from needlewise.web.state import runtime_of

COOKIE = "nw_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
FORM_TYPE = "application/x-www-form-urlencoded"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: a page's form has a few dozen fields (the session note: three per muscle); more is
#: not a form of ours
_MAX_FORM_FIELDS = 200

Dependency = Callable[[Request], Awaitable[Actor]]


def remote_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def credentials(request: Request) -> tuple[str, bool] | None:
    """(token, from_cookie) from the Authorization header or the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else None


async def sent_csrf_token(request: Request) -> str:
    """The CSRF token the request carries: its ``X-CSRF-Token`` header, else the
    ``csrf_token`` field of an HTML form body (``""`` when there is neither).

    A form body is read only when the header is missing and the body is a form whose
    declared ``Content-Length`` is within ``NEEDLEWISE_MAX_BODY_BYTES`` (413 otherwise;
    browsers always declare it). The body stays readable: Starlette keeps it on the
    request, so the route can parse the form again. Multipart forms (file uploads) are
    not read here: they send the header.
    """
    header = request.headers.get(CSRF_HEADER, "")
    if header or media_type(request) != FORM_TYPE:
        return header
    if request.headers.get("content-length") is None:
        return ""
    limit = body_limit(request)
    if declared_too_large(request, limit):
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    body = await request.body()  # bounded: the server reads no more than Content-Length
    try:
        fields = parse_qsl(body.decode("latin-1"), max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:  # too many fields
        return ""
    return next((value for name, value in fields if name == CSRF_FIELD), "")


def staff(permission: str | None) -> Dependency:
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
        hit = cached_check(runtime_of(request), token, remote)  # memory only: no thread hop
        if hit is None:
            try:
                hit = await run_in_threadpool(authenticate, runtime_of(request), token, remote)
            except Unauthorized:
                await _refused_credential(request, token, remote)
                raise
        actor, auth_session = hit
        if from_cookie and request.method in UNSAFE:
            sent = await sent_csrf_token(request)
            if not sent or not same(sent, auth_session.csrf_token):
                await refusals.record(request, actor, "denied", "csrf")
                raise Forbidden("missing or wrong X-CSRF-Token header (from the login response)")
        if permission is not None:
            try:
                actor.require(permission)
            except Forbidden:
                await refusals.record(request, actor, "denied", "forbidden")
                raise
        request.state.auth_session = auth_session
        request.state.actor = actor
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"staff_{(permission or 'any').replace(':', '_').replace('-', '_')}"
    return dependency


async def _refused_credential(request: Request, token: str, remote: str) -> None:
    """Audit a credential that did not authenticate: as its user when the service
    issued it (expired, ended, user deactivated), else as ``anonymous``."""
    owner = await run_in_threadpool(credential_owner, runtime_of(request).db, token, remote)
    if owner is None:
        await refusals.record(request, anonymous(remote), "denied", "unknown-credential")
    else:
        await refusals.record(request, owner, "denied", "credential-ended")


def permission_of(dependency: Any) -> str | None:
    """The permission a ``staff(...)`` dependency checks (``None`` if it is not one)."""
    return getattr(dependency, "permission", None)


def patient_link(purpose: str) -> Dependency:
    """A dependency that opens the patient link in the ``{token}`` path parameter.

    404 for a token that is not a valid link of this purpose, 410 when it has expired,
    was revoked, or (intake, consent) was already used.
    """

    async def dependency(request: Request) -> Actor:
        from needlewise.services.links import LinkRefused, open_link

        token = request.path_params.get("token", "")
        remote = remote_of(request)
        try:
            actor = await run_in_threadpool(open_link, runtime_of(request), token, purpose, remote)
        except LinkRefused as exc:
            who = exc.link if exc.link is not None else anonymous(remote)
            await refusals.record(request, who, exc.audit_outcome, exc.audit_reason)
            raise
        request.state.actor = actor
        return actor

    dependency.link_purpose = purpose  # type: ignore[attr-defined]
    dependency.__name__ = f"patient_link_{purpose.replace('-', '_')}"
    return dependency


def submitting_link(purpose: str) -> Dependency:
    """:func:`patient_link` for a single-use submission; with an ``Idempotency-Key`` it
    also opens a used link, so a retry can get the first answer (a new submission through
    it still gets 410)."""

    async def dependency(request: Request) -> Actor:
        from needlewise.services.links import open_link

        if idempotency.HEADER not in request.headers:
            return await patient_link(purpose)(request)
        token = request.path_params.get("token", "")
        return await run_in_threadpool(
            lambda: open_link(
                runtime_of(request), token, purpose, remote_of(request), allow_used=True
            )
        )

    dependency.link_purpose = purpose  # type: ignore[attr-defined]
    dependency.__name__ = f"patient_link_{purpose}_submit"
    return dependency


async def any_patient_link(request: Request) -> Actor:
    """Open the link in ``{token}`` whatever its purpose (the purpose is signed into it)."""
    signed = runtime_of(request).signer.unsign(request.path_params.get("token", ""))
    return await patient_link(signed[1] if signed else "invalid")(request)
