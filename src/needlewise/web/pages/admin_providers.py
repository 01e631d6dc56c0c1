"""``/app/admin/providers``: the clinic's providers (who needles) and, for each, whether
their licence state allows their profession to dry-needle — with the requirements, the
source and the date the knowledge base's record is as of (admins only).

The list and the form use the same use cases as ``/api/providers``
(:mod:`needlewise.services.providers`, audited there); the scope answer is the scope
service's (:func:`needlewise.services.scope.lookup_scope`, as ``GET
/api/providers/{id}/scope`` gives it), in the reader's language. A provider whose state
answer is "not permitted" cannot be recorded as the needling provider of a session.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.errors import InputError
from needlewise.languages import Language
from needlewise.services import providers, users
from needlewise.services.actor import Actor
from needlewise.services.paging import PageParams
from needlewise.services.runtime import Runtime
from needlewise.services.scope import lookup_scope
from needlewise.web.api.deps import ProvidersWrite, RuntimeDep
from needlewise.web.pages.admin_forms import (
    field_problems,
    optional,
    service_problem,
    staff_form,
    value,
)
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

PATH = "/app/admin/providers"
PAGE_SIZE = 50
FIELDS = ("name", "profession", "licence_state", "licence_number", "training_hours",
          "training_date", "user_id")  # fmt: skip
EMPTY = dict.fromkeys(FIELDS, "") | {"profession": "pt"}


def _page(
    request: Request,
    rt: Runtime,
    actor: Actor,
    language: Language,
    offset: int = 0,
    *,
    sent: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    page = providers.list_providers(rt, actor, PageParams(limit=PAGE_SIZE, offset=offset))
    rows = [(p, lookup_scope(rt.kb, p.licence_state, p.profession, language)) for p in page.items]
    accounts = users.list_users(rt, actor, PageParams(limit=100)).items
    kb = rt.kb
    return render(
        request,
        "admin/providers.html",
        {
            "page": page,
            "rows": rows,
            "sources_of": lambda ids: sources_of(kb, ids),
            "professions": [(p.code, p.title.get(language)) for p in kb.data.professions],
            "states": sorted((s.code, s.title.get(language)) for s in kb.data.states),
            "accounts": [(str(u.id), f"{u.name} ({u.email})") for u in accounts if u.active],
            "sent": sent or EMPTY,
            "errors": errors or {},
            "saved": request.query_params.get("saved"),
        },
        language=language,
        status=status,
    )


@router.get(PATH, response_class=HTMLResponse)
async def providers_page(
    request: Request,
    rt: RuntimeDep,
    actor: ProvidersWrite,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The providers with their state scope, and the form to add one."""
    language = chosen_language(request)
    return await run_in_threadpool(_page, request, rt, actor, language, offset)


@router.post(PATH, response_class=HTMLResponse)
async def create_provider(request: Request, rt: RuntimeDep, actor: ProvidersWrite) -> Response:
    """Add the provider (the state must be a US state or DC), then back to the list."""
    form = await staff_form(request)
    sent = {name: value(form, name) for name in FIELDS}
    document: dict[str, Any] = {
        "name": sent["name"],
        "profession": sent["profession"],
        "licence_state": sent["licence_state"],
        "licence_number": sent["licence_number"],
    }
    for name in ("training_hours", "training_date", "user_id"):
        given = optional(form, name)
        if given is not None:
            document[name] = given
    language = chosen_language(request)
    try:
        data = providers.ProviderIn.model_validate(document)
        made = await run_in_threadpool(providers.create_provider, rt, actor, data)
    except ValidationError as error:
        problems = field_problems(language, error)
    except InputError as error:
        field, message = service_problem(language, error)
        problems = {field: message}
    else:
        return RedirectResponse(f"{PATH}?saved={made.id}", status_code=303)
    return await run_in_threadpool(
        lambda: _page(request, rt, actor, language, sent=sent, errors=problems, status=422)
    )
