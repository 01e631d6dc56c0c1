"""``/api/providers``: who needles, with licence, training and state scope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from needlewise.services import providers
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
from needlewise.web.api.schemas import ScopeOut

router = APIRouter(prefix="/api/providers", tags=["providers"])


@router.get("", response_model=None, responses={**ok(Page[providers.ProviderOut]), **READ})
def list_providers(
    request: Request,
    page: Paging,
    actor: Annotated[Actor, Depends(staff("providers:read"))],
    active: Annotated[bool | None, Query()] = None,
) -> Any:
    return providers.list_providers(runtime(request), actor, page, active).model_dump(mode="json")


@router.post(
    "",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(providers.ProviderIn, "The provider."),
    responses={**created(providers.ProviderOut), **CREATE},
)
async def create_provider(
    request: Request, response: Response, actor: Annotated[Actor, Depends(staff("providers:write"))]
) -> Any:
    data = await body_of(request, providers.ProviderIn)
    out = await run_in_threadpool(providers.create_provider, runtime(request), actor, data)
    return versioned(response, "provider", out)


@router.get(
    "/{provider_id}", response_model=None, responses={**ok(providers.ProviderOut), **READ_ONE}
)
def get_provider(
    request: Request,
    response: Response,
    provider_id: RecordId,
    actor: Annotated[Actor, Depends(staff("providers:read"))],
) -> Any:
    out = providers.get_provider(runtime(request), actor, provider_id)
    return versioned(response, "provider", out)


@router.get("/{provider_id}/scope", response_model=None, responses={**ok(ScopeOut), **READ_ONE})
def get_provider_scope(
    request: Request,
    provider_id: RecordId,
    actor: Annotated[Actor, Depends(staff("providers:read"))],
    language: Annotated[Literal["en", "es"], Query()] = "en",
) -> Any:
    """May this provider dry-needle in their licence state? With requirements and source."""
    return providers.provider_scope(runtime(request), actor, provider_id, language).to_json()


@router.patch(
    "/{provider_id}",
    response_model=None,
    openapi_extra=body_doc(providers.ProviderPatch, "Fields to change (send If-Match)."),
    responses={**ok(providers.ProviderOut), **UPDATE},
)
async def patch_provider(
    request: Request,
    response: Response,
    provider_id: RecordId,
    actor: Annotated[Actor, Depends(staff("providers:write"))],
) -> Any:
    data = await body_of(request, providers.ProviderPatch)
    version = required_version(request, "provider", provider_id)
    out = await run_in_threadpool(
        providers.update_provider, runtime(request), actor, provider_id, version, data
    )
    return versioned(response, "provider", out)
