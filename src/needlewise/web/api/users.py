"""``/api/users``: staff accounts (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from needlewise.services import users
from needlewise.services.actor import Actor
from needlewise.services.pages import Page
from needlewise.web.api.auth_deps import runtime, staff
from needlewise.web.api.common import (
    CREATE,
    READ,
    READ_ONE,
    UPDATE,
    Paging,
    RecordId,
    body_doc,
    body_of,
    created,
    ok,
    required_version,
    versioned,
)

router = APIRouter(prefix="/api/users", tags=["accounts"])


@router.get("", response_model=None, responses={**ok(Page[users.UserOut]), **READ})
def list_users(
    request: Request, page: Paging, actor: Annotated[Actor, Depends(staff("users:read"))]
) -> Any:
    """Staff accounts of the clinic."""
    return users.list_users(runtime(request), actor, page).model_dump(mode="json")


@router.post(
    "",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(
        users.UserIn,
        "The new account (password at least 12 characters and not easy to guess: a weak "
        "one is refused with advice on what to change).",
    ),
    responses={**created(users.UserOut), **CREATE},
)
async def create_user(
    request: Request, response: Response, actor: Annotated[Actor, Depends(staff("users:write"))]
) -> Any:
    data = await body_of(request, users.UserIn)
    out = await run_in_threadpool(users.create_user, runtime(request), actor, data)
    return versioned(response, "user", out)


@router.get("/{user_id}", response_model=None, responses={**ok(users.UserOut), **READ_ONE})
def get_user(
    request: Request,
    response: Response,
    user_id: RecordId,
    actor: Annotated[Actor, Depends(staff("users:read"))],
) -> Any:
    out = users.get_user(runtime(request), actor, user_id)
    return versioned(response, "user", out)


@router.patch(
    "/{user_id}",
    response_model=None,
    openapi_extra=body_doc(users.UserPatch, "Fields to change (send If-Match)."),
    responses={**ok(users.UserOut), **UPDATE},
)
async def patch_user(
    request: Request,
    response: Response,
    user_id: RecordId,
    actor: Annotated[Actor, Depends(staff("users:write"))],
) -> Any:
    """Change a user. Any change of password, activity or role ends every session and
    API token of the user, whatever else the edit contains. The clinic's last active
    admin cannot be deactivated or demoted (409)."""
    data = await body_of(request, users.UserPatch)
    version = required_version(request, "user", user_id)
    out = await run_in_threadpool(
        users.update_user, runtime(request), actor, user_id, version, data
    )
    return versioned(response, "user", out)
