"""``/app/login`` and ``/app/logout``: staff sign in and out with the same session cookie
and CSRF token as ``POST /api/auth/login`` (the same use case, :mod:`needlewise.services.login`).

A wrong email or password, an inactive account, or a lockout gets the form again with
the reason (401, 429 with ``Retry-After``); the refusal is audited by the use case. After
signing in the browser goes to ``next`` when it is a page of ``/app``, else to ``/app``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.errors import TooManyRequests, Unauthorized
from needlewise.services import login as staff_login
from needlewise.services.credentials import logout as end_credential
from needlewise.web.api.deps import AnyStaff, RuntimeDep
from needlewise.web.auth import COOKIE, credentials, remote_of
from needlewise.web.login_cookies import set_login_cookies
from needlewise.web.pages.form_guard import read_form
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import gettext, render

router = APIRouter(include_in_schema=False)

LOGIN_PATH = "/app/login"
HOME = "/app"


def safe_next(value: object) -> str:
    """``value`` if it is a path of the staff pages (never another site), else ``/app``."""
    if not isinstance(value, str) or not value.startswith("/app") or len(value) > 300:
        return HOME
    if "//" in value or "\\" in value or not value.isprintable():
        return HOME
    return value


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The sign-in form."""
    return render(
        request,
        "clinic/login.html",
        {
            "next": safe_next(request.query_params.get("next")),
            "email": "",
            "error": None,
            "signed_out": "signed-out" in request.query_params,
        },
    )


@router.post(LOGIN_PATH, response_class=HTMLResponse)
async def login(request: Request, rt: RuntimeDep) -> Response:
    """Check the password and open a session (the use case audits failures)."""
    form = await read_form(request)
    email = str(form.get("email") or "")[:320]
    target = safe_next(form.get("next"))
    language = chosen_language(request)
    try:
        result = await run_in_threadpool(
            staff_login.login,
            rt,
            staff_login.LoginIn(email=email, password=str(form.get("password") or "")[:200]),
            remote_of(request),
            "browser",
            request.cookies.get(staff_login.DEVICE_COOKIE),
        )
    except (Unauthorized, TooManyRequests) as refused:
        limited = isinstance(refused, TooManyRequests)
        wait = refused.retry_after() if limited else None
        message = (
            gettext(language, "Too many attempts. Please wait %(minutes)s minutes.",
                    minutes=max(1, -(-(wait or 60) // 60)))
            if limited
            else gettext(language, "The email or password is not right.")
        )  # fmt: skip
        return render(
            request,
            "clinic/login.html",
            {"next": target, "email": email, "error": message, "signed_out": False},
            status=429 if limited else 401,
            headers={"Retry-After": str(wait)} if wait else None,
        )
    response = RedirectResponse(target, status_code=303)
    set_login_cookies(response, rt, result, LOGIN_PATH)
    return response


@router.post("/app/logout")
def logout(request: Request, rt: RuntimeDep, actor: AnyStaff) -> Response:
    """End this session and go back to the sign-in form."""
    found = credentials(request)
    if found is not None:
        end_credential(rt, found[0], actor)
    response = RedirectResponse(f"{LOGIN_PATH}?signed-out", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
