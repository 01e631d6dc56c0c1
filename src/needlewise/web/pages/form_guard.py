"""CSRF protection for the forms a visitor sends without a staff session.

Staff forms carry the session's CSRF token (checked by :func:`needlewise.web.auth.staff`).
The login form and the patient-link forms have no session yet: they use a double-submit
token. :func:`needlewise.web.pages.rendering.render` gives every visitor a random
``nw_form`` cookie (http-only, SameSite=Strict) and puts the same value in each form's
``form_token`` field; :func:`read_form` refuses a post whose field does not match the
cookie (403, audited) — a page on another site can make a browser post, but it can read
neither the cookie nor our page.
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from needlewise.errors import Forbidden, audited
from needlewise.security.secrets import same
from needlewise.services.actor import Actor
from needlewise.services.refusals import anonymous
from needlewise.web import refusals
from needlewise.web.auth import remote_of
from needlewise.web.bodies import body_limit, declared_too_large

COOKIE = "nw_form"
FIELD = "form_token"
#: the largest form of ours (consent with a drawn signature) has a dozen fields
MAX_FIELDS = 200


def form_token(connection: HTTPConnection) -> tuple[str, bool]:
    """(the visitor's form token, whether it is new and must be set as a cookie)."""
    current = connection.cookies.get(COOKIE, "")
    if 32 <= len(current) <= 64:
        return current, False
    return secrets.token_urlsafe(32), True


def set_form_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure)


async def read_form(request: Request, actor: Actor | None = None) -> FormData:
    """The posted form, once its ``form_token`` matches the visitor's cookie.

    413 for a body over ``NEEDLEWISE_MAX_BODY_BYTES``; 403 (audited as ``actor``, else
    anonymous) when the token is missing or wrong.
    """
    limit = body_limit(request)
    if declared_too_large(request, limit):
        raise HTTPException(413, f"the form is larger than {limit} bytes")
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    sent = form.get(FIELD)
    cookie = request.cookies.get(COOKIE, "")
    if not isinstance(sent, str) or not cookie or not same(sent, cookie):
        who = actor or anonymous(remote_of(request))
        await refusals.record(request, who, "denied", "csrf")
        # audited once, here (a patient link's actor would otherwise be audited twice)
        raise audited(Forbidden("this form has expired: reload the page and send it again"))
    return form
