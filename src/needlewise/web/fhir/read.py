"""``GET /fhir/{type}/{id}`` and ``GET /fhir/{type}?…``: read and search.

Any staff member's API token (or session) authenticates; what they may read is decided
by the use cases (:mod:`needlewise.services.fhir_read`), which mirror the JSON API's
permissions and audit every record returned. The routes are not in the OpenAPI document
(``include_in_schema=False``): the facade's contract is its CapabilityStatement
(``/fhir/metadata``) and ``docs/fhir.md``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool

from needlewise.interop.fhir.emit.bundle import searchset
from needlewise.services import fhir_read
from needlewise.services.actor import Actor
from needlewise.web.auth import staff
from needlewise.web.fhir.negotiation import check_format
from needlewise.web.fhir.outcome import FhirJson
from needlewise.web.state import runtime_of

router = APIRouter(prefix="/fhir", include_in_schema=False)

AnyStaff = Annotated[Actor, Depends(staff(None))]
# no length or pattern limits here: an id or type that is not ours is a 404 from the use
# case (an OperationOutcome), never a 422 from parameter validation
TypeName = Annotated[str, Path()]
ResourceId = Annotated[str, Path()]


def server_base(request: Request) -> str:
    """This server's base URL as the client reached it (no trailing slash)."""
    return str(request.base_url).rstrip("/")


def fhir_base(request: Request) -> str:
    return f"{server_base(request)}/fhir"


@router.get("/{type_name}/{resource_id}", response_class=FhirJson)
async def read(
    request: Request, type_name: TypeName, resource_id: ResourceId, actor: AnyStaff
) -> FhirJson:
    """One resource; 404 OperationOutcome when it is not the caller's to see."""
    check_format(request)
    resource = await run_in_threadpool(
        fhir_read.read_resource,
        runtime_of(request),
        actor,
        type_name,
        resource_id,
        server_base(request),
    )
    return FhirJson(resource)


@router.get("/{type_name}", response_class=FhirJson)
async def search(request: Request, type_name: TypeName, actor: AnyStaff) -> FhirJson:
    """A searchset Bundle: one page, its total, and self/next/previous links."""
    check_format(request)
    params = list(request.query_params.multi_items())
    found = await run_in_threadpool(
        fhir_read.search, runtime_of(request), actor, type_name, params, server_base(request)
    )
    base = fhir_base(request)
    query = found.query

    def page(offset: int) -> str:
        pairs = [*query.echoed, *([("_offset", str(offset))] if offset else [])]
        return f"{base}/{type_name}" + (f"?{urlencode(pairs)}" if pairs else "")

    links = [("self", page(query.offset))]
    if query.count and query.offset + query.count < found.total:
        links.append(("next", page(query.offset + query.count)))
    if query.offset > 0:
        links.append(("previous", page(max(0, query.offset - max(query.count, 1)))))
    return FhirJson(searchset(found.resources, found.total, base, links))
