"""Audit the refusals of the web doors: what a refused request was, read from its route.

The authentication dependencies (:mod:`needlewise.web.auth`) record the
refusals they make themselves (no, unknown or ended credential; a role without the
permission; a missing CSRF token; a patient link that is not valid). Once a caller is
authenticated the dependency leaves its :class:`Actor` on ``request.state.actor``, and
the app's error handler (:mod:`needlewise.web.errors`) calls :func:`audit_refusal` for any later 401, 403, 404, 410 or
429 (another clinic's record, a rule, a link used up in the meantime, a rate limit).

What a request was comes from its route template and nothing else: the action (the
method, or a verb such as ``withdraw`` at the end of the path), the resource type (the
last noun of the path), the id that follows that noun, and a ``patient_id`` the caller
put in the path or query string — ids the caller named, never a token, a name or a
body.
"""

from __future__ import annotations

import logging

from fastapi import Request

from needlewise.errors import Forbidden, Gone, NotFound, ServiceError, TooManyRequests, Unauthorized
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.records import MAX_ID
from needlewise.services.refusals import record_refusal_async
from needlewise.web.state import runtime_of

log = logging.getLogger("needlewise.audit")

ACTIONS = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update", "PATCH": "update"}
VERBS = frozenset({"withdraw", "acknowledge", "revoke", "login", "logout"})
#: path nouns whose resource type is not simply the singular
NOUNS = {
    "auth": "session",
    "tokens": "api-token",
    "me": "user",
    "p": "patient-link",
    "links": "patient-link",
    "audit": "audit-log",
    "text": "consent-text",
    "feedback": "cds-feedback",  # /cds-services/{service_id}/feedback
}
#: nouns that name a part of the record before them (``/consents/{id}/copy``)
PARTS = frozenset({"copy", "scope"})
#: (outcome, reason) of a refusal raised after authentication, by its class
KINDS: tuple[tuple[type[ServiceError], audit.Outcome, str], ...] = (
    (Unauthorized, "denied", "unauthenticated"),
    (Forbidden, "denied", "forbidden"),
    (NotFound, "denied", "not-found"),
    (Gone, "refused", "gone"),
    (TooManyRequests, "refused", "rate-limited"),
)


def _id(value: object) -> int | None:
    """``value`` as a record id if it is one (digits, in range), else ``None``."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    if len(value) > 10 or not 1 <= int(value) <= MAX_ID:
        return None
    return int(value)


def _singular(noun: str) -> str:
    return NOUNS.get(noun) or (noun[:-1] if noun.endswith("s") else noun)


def describe(request: Request) -> tuple[str, str, int | None, int | None]:
    """(action, resource type, resource id, patient id) of ``request``, from its route."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return ACTIONS.get(request.method, "other"), "unknown", None, None
    parts = [p for p in template.split("/") if p]
    if parts[:1] in (["api"], ["app"]):  # the JSON API, the staff pages
        parts = parts[1:]
    action = ACTIONS.get(request.method, request.method.lower()[:20])
    noun: int | None = None
    for index, part in enumerate(parts):
        if part.startswith("{") or part == "new":  # /app/patients/new: a patient's form
            continue
        if part in VERBS:
            action = part
        else:
            noun = index
    if noun is None:  # "/" (the home page), "/app" (today's list), "/app/login"
        if action in ("login", "logout"):
            return action, "session", None, None
        return action, "unknown" if parts else "page", None, None
    params = request.path_params
    name = parts[noun]
    before = parts[noun - 1] if noun > 0 else ""
    after = parts[noun + 1] if noun + 1 < len(parts) else ""
    resource_id = None
    if name in PARTS and before.startswith("{") and noun >= 2:
        resource = f"{_singular(parts[noun - 2])}-{name}"
        resource_id = _id(params.get(before[1:-1]))
    else:
        resource = _singular(name)
        if after.startswith("{") and after != "{token}":
            resource_id = _id(params.get(after[1:-1]))
    patient_id = _id(params.get("patient_id"))
    if patient_id is None:
        patient_id = _id(request.query_params.get("patient_id"))
    return action, resource[:40], resource_id, patient_id


async def record(request: Request, actor: Actor, outcome: audit.Outcome, reason: str) -> None:
    """Record the refusal of ``request`` (by ``actor``) in the audit log. Never raises:
    a refusal that cannot be recorded is logged and the request refused all the same."""
    try:
        action, resource, resource_id, patient_id = describe(request)
        values = audit.entry(
            actor, action, resource, resource_id, patient_id, outcome, reason=reason
        )
    except Exception as exc:  # a bug here must not turn a 401/403/404 into a 500
        log.error("audit: a refusal could not be described (%s)", type(exc).__name__)
        return
    await record_refusal_async(runtime_of(request).db, values)


async def audit_refusal(request: Request, exc: ServiceError) -> None:
    """For the app's error handler: record a refusal raised after authentication (those
    raised before, by the authentication dependencies or the login, are recorded where
    they are raised). Other errors (bad input, conflicts, versions) are not refusals."""
    actor = getattr(request.state, "actor", None)
    if not isinstance(actor, Actor) or exc.audited:
        return
    for kind, outcome, default in KINDS:
        if isinstance(exc, kind):
            reason = getattr(exc, "audit_reason", None)
            await record(request, actor, outcome, reason if isinstance(reason, str) else default)
            return
