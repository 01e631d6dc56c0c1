"""``/api/auth``: log in and out, who am I, API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from needlewise.services import accounts
from needlewise.services.actor import Actor
from needlewise.services.documents import validate
from needlewise.web.api.auth_deps import COOKIE, credentials, remote_of, runtime, staff
from needlewise.web.api.common import ok
from needlewise.web.api.deps import inline_schema, json_body, request_body
from needlewise.web.responses import error_responses

router = APIRouter(prefix="/api/auth", tags=["accounts"])


class LoginOut(BaseModel):
    user: accounts.UserOut
    csrf_token: str = Field(description="Send back in X-CSRF-Token on every POST/PUT/PATCH/DELETE")
    expires_at: datetime


class MeOut(BaseModel):
    user: accounts.UserOut
    csrf_token: str | None = Field(description="The session's CSRF token (cookie logins only)")


class TokenIn(BaseModel):
    days: int = Field(default=30, ge=1, le=365)


class TokenOut(BaseModel):
    token: str = Field(description="Use as Authorization: Bearer <token>; shown only once")
    expires_at: datetime


@router.post(
    "/login",
    response_model=None,
    openapi_extra=request_body(
        "Email and password.", inline_schema(accounts.LoginIn.model_json_schema())
    ),
    responses={**ok(LoginOut), **error_responses(400, 401, 413, 415, 422, 429, 500)},
)
async def login(request: Request, response: Response) -> Any:
    """Log in. Sets the session cookie (secure, http-only, SameSite=Lax) and returns the
    CSRF token. Failed logins are rate limited (429 with Retry-After)."""
    credentials_in = validate(accounts.LoginIn, await json_body(request))
    rt = runtime(request)
    result = await run_in_threadpool(accounts.login, rt, credentials_in, remote_of(request))
    response.set_cookie(
        COOKIE,
        result.token,
        max_age=int(rt.settings.session_hours * 3600),
        httponly=True,
        secure=rt.settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return LoginOut(
        user=result.user, csrf_token=result.csrf_token, expires_at=result.expires_at
    ).model_dump(mode="json")


@router.post(
    "/logout", response_model=None, responses={**ok(dict), **error_responses(401, 403, 500)}
)
def logout(
    request: Request, response: Response, actor: Annotated[Actor, Depends(staff(None))]
) -> Any:
    """End this session (the cookie or bearer token stops working)."""
    found = credentials(request)
    if found is not None:
        accounts.logout(runtime(request), found[0], actor)
    response.delete_cookie(COOKIE, path="/")
    return {"logged_out": True}


@router.get("/me", response_model=None, responses={**ok(MeOut), **error_responses(401, 500)})
def me(request: Request, actor: Annotated[Actor, Depends(staff(None))]) -> Any:
    """The logged-in user, and the session's CSRF token for browser sessions."""
    session = request.state.auth_session
    csrf = session.csrf_token if session.kind == "browser" else None
    return MeOut(user=accounts.me(runtime(request), actor), csrf_token=csrf).model_dump(mode="json")


@router.post(
    "/tokens",
    response_model=None,
    openapi_extra=request_body(
        "How long the token lasts.", inline_schema(TokenIn.model_json_schema())
    ),
    responses={**ok(TokenOut), **error_responses(400, 401, 403, 413, 415, 422, 500)},
)
async def mint_token(request: Request, actor: Annotated[Actor, Depends(staff(None))]) -> Any:
    """An API token for scripts and integrations (acts as you; no CSRF token needed)."""
    data = validate(TokenIn, await json_body(request))
    token, expires = await run_in_threadpool(
        accounts.mint_api_token, runtime(request), actor, data.days
    )
    return TokenOut(token=token, expires_at=expires).model_dump(mode="json")
