"""``/app/admin/users``: staff accounts — list, create, change a role, switch an account
off or on again (admins only), with the same use cases as ``/api/users``
(:mod:`needlewise.services.users`, audited there).

A new password must pass the same check as the API's (at least 12 characters and hard
to guess, by zxcvbn, offline): a weak one shows the form again with the advice next to
the password field (422), and no account is made. A change of role or activity ends
every session and API token of that user. Each change names the version of the account
the admin saw (the same rule as the API's ``If-Match``): if someone changed it in the
meantime the page says so (412) and changes nothing; the clinic's last active admin
cannot be switched off or demoted (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.errors import Conflict, InputError, PreconditionFailed
from needlewise.security.roles import Role
from needlewise.services import users
from needlewise.services.actor import Actor
from needlewise.services.paging import PageParams
from needlewise.services.runtime import Runtime
from needlewise.translations import N_
from needlewise.web.api.deps import RecordId, RuntimeDep, UsersRead, UsersWrite
from needlewise.web.pages.admin_forms import field_problems, service_problem, staff_form, value
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import gettext, render

router = APIRouter(include_in_schema=False)

PATH = "/app/admin/users"
PAGE_SIZE = 50
#: the roles as the page words them
ROLE_NAMES: dict[str, str] = {
    Role.admin.value: N_("Admin"),
    Role.clinician.value: N_("Clinician"),
    Role.front_desk.value: N_("Front desk"),
}
STALE = N_(
    "Someone changed this account in the meantime: nothing was saved. Look at it again "
    "below and make your change again."
)
LAST_ADMIN = N_(
    "This is the clinic's last active admin: make another user admin first. Nothing was saved."
)
EMPTY = {"email": "", "name": "", "role": Role.front_desk.value}


def _page(
    request: Request,
    rt: Runtime,
    actor: Actor,
    offset: int = 0,
    *,
    sent: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    page = users.list_users(rt, actor, PageParams(limit=PAGE_SIZE, offset=offset))
    return render(
        request,
        "admin/users.html",
        {
            "page": page,
            "role_names": ROLE_NAMES,
            "sent": sent or EMPTY,
            "errors": errors or {},
            "notice": notice,
            "saved": request.query_params.get("saved"),
            "me": actor.user_id,
        },
        status=status,
    )


@router.get(PATH, response_class=HTMLResponse)
async def users_page(
    request: Request,
    rt: RuntimeDep,
    actor: UsersRead,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The clinic's staff accounts and the form to add one."""
    return await run_in_threadpool(_page, request, rt, actor, offset)


@router.post(PATH, response_class=HTMLResponse)
async def create_user(request: Request, rt: RuntimeDep, actor: UsersWrite) -> Response:
    """Make the account (its password checked first), then back to the list."""
    form = await staff_form(request)
    sent = {name: value(form, name) for name in ("email", "name", "role")}
    document: dict[str, Any] = {**sent, "password": _password(form)}
    language = chosen_language(request)
    try:
        data = users.UserIn.model_validate(document)
        made = await run_in_threadpool(users.create_user, rt, actor, data)
    except ValidationError as error:
        problems = field_problems(language, error)
        return await _again(request, rt, actor, sent, problems)
    except InputError as error:
        field, message = service_problem(language, error)
        return await _again(request, rt, actor, sent, {field: message})
    except Conflict:
        taken = gettext(language, N_("An account with this email already exists."))
        return await _again(request, rt, actor, sent, {"email": taken}, status=409)
    return RedirectResponse(f"{PATH}?saved={made.id}", status_code=303)


async def _again(
    request: Request,
    rt: Runtime,
    actor: Actor,
    sent: dict[str, str],
    errors: dict[str, str],
    status: int = 422,
) -> Response:
    return await run_in_threadpool(
        lambda: _page(request, rt, actor, sent=sent, errors=errors, status=status)
    )


def _password(form: FormData) -> str:
    """The password exactly as typed (spaces count; at most 200 characters are kept, and
    a longer one is refused by the model's own limit)."""
    found = form.get("password")
    return found[:201] if isinstance(found, str) else ""


@router.post(PATH + "/{user_id}", response_class=HTMLResponse)
async def change_user(
    request: Request, rt: RuntimeDep, user_id: RecordId, actor: UsersWrite
) -> Response:
    """Change the user's ``role``, or switch the account off (``active=false``) or on
    again (``active=true``): each ends the user's sessions and API tokens."""
    form = await staff_form(request)
    document = {name: value(form, name) for name in ("role", "active") if name in form}
    return await _change(request, rt, actor, user_id, form, document)


async def _change(
    request: Request,
    rt: Runtime,
    actor: Actor,
    user_id: int,
    form: FormData,
    document: dict[str, Any],
) -> Response:
    language = chosen_language(request)
    version = value(form, "version")
    notice: str | None = None
    status = 200
    try:
        data = users.UserPatch.model_validate(document or {"role": ""})  # nothing: a bad choice
        if not version.isdigit():
            raise PreconditionFailed("no version")
        await run_in_threadpool(users.update_user, rt, actor, user_id, int(version), data)
    except ValidationError:
        notice, status = gettext(language, N_("Please choose one of the options.")), 422
    except PreconditionFailed:
        notice = gettext(language, STALE)
        status = 412
    except Conflict:
        notice = gettext(language, LAST_ADMIN)
        status = 409
    if notice is None:
        return RedirectResponse(f"{PATH}?saved={user_id}", status_code=303)
    return await run_in_threadpool(lambda: _page(request, rt, actor, notice=notice, status=status))
