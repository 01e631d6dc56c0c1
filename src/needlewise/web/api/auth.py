"""``/api/auth``: log in and out, who am I, API tokens, change one's own password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from needlewise.services import api_tokens, password_change, users
from needlewise.services import login as staff_login
from needlewise.services.credentials import logout as end_credential
from needlewise.services.documents import validate
from needlewise.services.records import MAX_ID
from needlewise.web.api.deps import AnyStaff, RecordId, RuntimeDep
from needlewise.web.auth import COOKIE, credentials, remote_of
from needlewise.web.bodies import json_body
from needlewise.web.login_cookies import set_login_cookies
from needlewise.web.openapi import body_doc, error_responses, inline_schema, ok, request_body

router = APIRouter(prefix="/api/auth", tags=["accounts"])
#: the device cookie goes only where it is read: the login
DEVICE_PATH = "/api/auth"


class LoginOut(BaseModel):
    user: users.UserOut
    csrf_token: str = Field(description="Send back in X-CSRF-Token on every POST/PUT/PATCH/DELETE")
    expires_at: datetime


class MeOut(BaseModel):
    user: users.UserOut
    csrf_token: str | None = Field(description="The session's CSRF token (cookie logins only)")


class TokenOut(BaseModel):
    token: str = Field(description="Use as Authorization: Bearer <token>; shown only once")
    expires_at: datetime


@router.post(
    "/login",
    response_model=None,
    openapi_extra=request_body(
        "Email and password.", inline_schema(staff_login.LoginIn.model_json_schema())
    ),
    responses={**ok(LoginOut), **error_responses(400, 401, 413, 415, 422, 429, 500)},
)
async def login(request: Request, response: Response, rt: RuntimeDep) -> Any:
    """Log in. Sets the session cookie (secure, http-only, SameSite=Lax) and returns the
    CSRF token. Failed logins are rate limited (429 with Retry-After) per email and per
    address; the browser also gets a signed device cookie (http-only, on /api/auth only),
    and from a browser its user logged in on before the right password gets through such
    a lockout (wrong ones still count, and the device has a limit of its own)."""
    credentials_in = validate(staff_login.LoginIn, await json_body(request))
    result = await run_in_threadpool(
        staff_login.login,
        rt,
        credentials_in,
        remote_of(request),
        "browser",
        request.cookies.get(staff_login.DEVICE_COOKIE),
    )
    set_login_cookies(response, rt, result, DEVICE_PATH)
    return LoginOut(
        user=result.user, csrf_token=result.csrf_token, expires_at=result.expires_at
    ).model_dump(mode="json")


@router.post("/logout", response_model=None, responses={**ok(dict), **error_responses(500)})
def logout(request: Request, response: Response, rt: RuntimeDep, actor: AnyStaff) -> Any:
    """End this session (the cookie or bearer token stops working). API tokens minted
    from a browser session are not ended with it: list them with GET /api/auth/tokens
    and end them with DELETE /api/auth/tokens/{token_id}."""
    found = credentials(request)
    if found is not None:
        end_credential(rt, found[0], actor)
    response.delete_cookie(COOKIE, path="/")
    return {"logged_out": True}


@router.get("/me", response_model=None, responses={**ok(MeOut), **error_responses(500)})
def me(request: Request, rt: RuntimeDep, actor: AnyStaff) -> Any:
    """The logged-in user, and the session's CSRF token for browser sessions."""
    login = request.state.auth_session
    csrf = login.csrf_token if login.kind == "browser" else None
    return MeOut(user=users.me(rt, actor), csrf_token=csrf).model_dump(mode="json")


@router.post(
    "/tokens",
    response_model=None,
    openapi_extra=request_body(
        "How long the token lasts (at most NEEDLEWISE_API_TOKEN_DAYS, the default) and "
        "what it is for. Unknown fields are refused.",
        inline_schema(api_tokens.TokenIn.model_json_schema()),
    ),
    responses={**ok(TokenOut), **error_responses(400, 413, 415, 422, 500)},
)
async def mint_token(request: Request, rt: RuntimeDep, actor: AnyStaff) -> Any:
    """An API token for scripts and integrations (acts as you; no CSRF token needed). It
    ends when it expires, when you or an admin revoke it, or when your password, activity
    or role changes; logging out of the browser session that made it does not end it."""
    data = validate(api_tokens.TokenIn, await json_body(request))
    token, expires = await run_in_threadpool(
        lambda: api_tokens.mint_api_token(
            rt,
            actor,
            data.days,
            label=data.label,
            parent=request.state.auth_session,
        )
    )
    return TokenOut(token=token, expires_at=expires).model_dump(mode="json")


@router.get(
    "/tokens",
    response_model=None,
    responses={**ok(api_tokens.TokenList), **error_responses(404, 422, 500)},
)
def list_tokens(
    request: Request,
    rt: RuntimeDep,
    actor: AnyStaff,
    user_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Another user's tokens (admins, own clinic only)"),
    ] = None,
) -> Any:
    """Your API tokens that still work (never the tokens themselves), newest first; an
    admin may list those of a user of their clinic with ``user_id``."""
    current = request.state.auth_session.id
    out = api_tokens.list_tokens(rt, actor, user_id, current)
    return out.model_dump(mode="json")


@router.delete(
    "/tokens/{token_id}",
    response_model=None,
    responses={**ok(api_tokens.TokenInfo), **error_responses(404, 422, 500)},
)
def revoke_token(rt: RuntimeDep, token_id: RecordId, actor: AnyStaff) -> Any:
    """End one API token: one of yours, or (admins) one of a user of your clinic. Any
    other token, or one already ended, is 404."""
    return api_tokens.revoke_token(rt, actor, token_id).model_dump(mode="json")


@router.post(
    "/password",
    response_model=None,
    openapi_extra=body_doc(
        password_change.PasswordChange,
        "Your current password and the new one (at least 12 characters, not easy to "
        "guess). Wrong current passwords count like failed logins.",
    ),
    responses={
        **ok(password_change.PasswordChanged),
        **error_responses(400, 413, 415, 422, 429, 500),
    },
)
async def change_password(request: Request, rt: RuntimeDep, actor: AnyStaff) -> Any:
    """Change your own password. Every other session and API token of yours ends; the
    session or token making this request goes on."""
    data = validate(password_change.PasswordChange, await json_body(request))
    out = await run_in_threadpool(
        password_change.change_own_password,
        rt,
        actor,
        request.state.auth_session,
        data,
    )
    return out.model_dump(mode="json")
