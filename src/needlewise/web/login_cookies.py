"""The cookies a staff login sets, the same from the JSON API and from the login page.

* the session cookie (``nw_session``): http-only, SameSite=Lax, ``Secure`` by
  ``NEEDLEWISE_COOKIE_SECURE``, for ``NEEDLEWISE_SESSION_HOURS``;
* the signed device cookie: http-only, SameSite=Strict, only on the path of the login
  that reads it (``/api/auth`` for the API, ``/app/login`` for the page), so that a
  browser its user logged in on before gets past a lockout aimed at a password guesser.
"""

from __future__ import annotations

from starlette.responses import Response

from needlewise.services import login as staff_login
from needlewise.services.runtime import Runtime
from needlewise.web.auth import COOKIE


def set_login_cookies(
    response: Response, runtime: Runtime, result: staff_login.LoginResult, device_path: str
) -> None:
    """Set the session and device cookies of ``result`` on ``response``."""
    settings = runtime.settings
    response.set_cookie(
        COOKIE,
        result.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        staff_login.DEVICE_COOKIE,
        result.device_cookie,
        max_age=settings.device_cookie_days * 86400,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path=device_path,
    )
