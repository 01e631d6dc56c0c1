"""Errors of the pages, answered as a page (the HTML error dialect).

A staff page asked without a session (401) sends the browser to the login page and
back; any other problem is a page with its status, the plain reason (service messages
name the problem, never patient data) and a way on. Registered for the page prefixes in
:func:`needlewise.web.pages.add_pages`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse, Response

from needlewise.translations import N_
from needlewise.web.errors import Problem
from needlewise.web.pages.rendering import render

LOGIN_PATH = "/app/login"


#: a heading per status; the message of the problem says the rest
_TITLES = {
    400: N_("This request could not be read"),
    401: N_("Please sign in"),
    403: N_("You cannot do this"),
    404: N_("This page was not found"),
    405: N_("This page cannot be used that way"),
    409: N_("This changed in the meantime"),
    410: N_("This link can no longer be used"),
    412: N_("This changed in the meantime"),
    413: N_("This is too large to send"),
    415: N_("This request could not be read"),
    422: N_("Please check what you sent"),
    429: N_("Please wait a moment"),
    503: N_("The service is busy"),
}


def error_page(connection: HTTPConnection, problem: Problem) -> Response:
    """``problem`` as a page (a 401 on a staff page: to the login page, then back)."""
    path = connection.url.path
    if problem.status == 401 and path.startswith("/app") and path != LOGIN_PATH:
        target = path if connection.scope.get("method", "GET") == "GET" else "/app"
        return RedirectResponse(f"{LOGIN_PATH}?{urlencode({'next': target})}", status_code=303)
    return render(
        connection,
        "error.html",
        {
            "status": problem.status,
            "title": _TITLES.get(problem.status, N_("Something went wrong")),
            "message": str(problem.error.get("message", "")),
            "staff_side": path.startswith("/app"),
        },
        status=problem.status,
        headers=problem.headers,
    )
