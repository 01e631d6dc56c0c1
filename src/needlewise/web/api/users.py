"""``/api/users``: staff accounts (admin only)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from needlewise.services import users
from needlewise.services.paging import Page
from needlewise.web.api import record_routes
from needlewise.web.api.deps import Paging, RecordId, RuntimeDep, UsersRead, UsersWrite
from needlewise.web.etags import versioned
from needlewise.web.openapi import CREATE, READ, READ_ONE, UPDATE, body_doc, created, ok

router = APIRouter(prefix="/api/users", tags=["accounts"])
KIND = "user"


@router.get("", response_model=None, responses={**ok(Page[users.UserOut]), **READ})
def list_users(rt: RuntimeDep, page: Paging, actor: UsersRead) -> Any:
    """Staff accounts of the clinic."""
    return users.list_users(rt, actor, page).model_dump(mode="json")


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
async def create_user(request: Request, rt: RuntimeDep, actor: UsersWrite) -> Any:
    service = partial(users.create_user, rt, actor)
    return await record_routes.create(request, KIND, users.UserIn, service)


@router.get("/{user_id}", response_model=None, responses={**ok(users.UserOut), **READ_ONE})
def get_user(rt: RuntimeDep, user_id: RecordId, actor: UsersRead) -> Any:
    return versioned(KIND, users.get_user(rt, actor, user_id))


@router.patch(
    "/{user_id}",
    response_model=None,
    openapi_extra=body_doc(users.UserPatch, "Fields to change (send If-Match)."),
    responses={**ok(users.UserOut), **UPDATE},
)
async def patch_user(request: Request, rt: RuntimeDep, user_id: RecordId, actor: UsersWrite) -> Any:
    """Change a user. Any change of password, activity or role ends every session and
    API token of the user, whatever else the edit contains. The clinic's last active
    admin cannot be deactivated or demoted (409)."""
    service = partial(users.update_user, rt, actor, user_id)
    return await record_routes.change(request, KIND, user_id, users.UserPatch, service)
