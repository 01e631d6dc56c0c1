"""``/api/providers``: who needles, with licence, training and state scope."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from needlewise.languages import Language
from needlewise.services import providers
from needlewise.services.paging import Page
from needlewise.web.api import record_routes
from needlewise.web.api.deps import Paging, ProvidersRead, ProvidersWrite, RecordId, RuntimeDep
from needlewise.web.api.schemas import ScopeOut
from needlewise.web.etags import versioned
from needlewise.web.openapi import CREATE, READ, READ_ONE, UPDATE, body_doc, created, ok

router = APIRouter(prefix="/api/providers", tags=["providers"])
KIND = "provider"


@router.get("", response_model=None, responses={**ok(Page[providers.ProviderOut]), **READ})
def list_providers(
    rt: RuntimeDep,
    page: Paging,
    actor: ProvidersRead,
    active: Annotated[bool | None, Query()] = None,
) -> Any:
    return providers.list_providers(rt, actor, page, active).model_dump(mode="json")


@router.post(
    "",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(providers.ProviderIn, "The provider."),
    responses={**created(providers.ProviderOut), **CREATE},
)
async def create_provider(request: Request, rt: RuntimeDep, actor: ProvidersWrite) -> Any:
    service = partial(providers.create_provider, rt, actor)
    return await record_routes.create(request, KIND, providers.ProviderIn, service)


@router.get(
    "/{provider_id}", response_model=None, responses={**ok(providers.ProviderOut), **READ_ONE}
)
def get_provider(rt: RuntimeDep, provider_id: RecordId, actor: ProvidersRead) -> Any:
    return versioned(KIND, providers.get_provider(rt, actor, provider_id))


@router.get("/{provider_id}/scope", response_model=None, responses={**ok(ScopeOut), **READ_ONE})
def get_provider_scope(
    rt: RuntimeDep,
    provider_id: RecordId,
    actor: ProvidersRead,
    language: Annotated[Language, Query()] = "en",
) -> Any:
    """May this provider dry-needle in their licence state? With requirements and source."""
    return providers.provider_scope(rt, actor, provider_id, language).to_json()


@router.patch(
    "/{provider_id}",
    response_model=None,
    openapi_extra=body_doc(providers.ProviderPatch, "Fields to change (send If-Match)."),
    responses={**ok(providers.ProviderOut), **UPDATE},
)
async def patch_provider(
    request: Request, rt: RuntimeDep, provider_id: RecordId, actor: ProvidersWrite
) -> Any:
    service = partial(providers.update_provider, rt, actor, provider_id)
    return await record_routes.change(request, KIND, provider_id, providers.ProviderPatch, service)
