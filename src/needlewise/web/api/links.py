"""Staff side of patient links: create one for a patient, revoke one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from needlewise.services import links
from needlewise.services.actor import Actor
from needlewise.web.api.auth_deps import runtime, staff
from needlewise.web.api.common import CREATE, READ_ONE, RecordId, body_doc, body_of, created, ok

router = APIRouter(tags=["patient links"])


@router.post(
    "/api/patients/{patient_id}/links",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(links.LinkIn, "Purpose (intake, consent, check-in) and validity."),
    responses={**created(links.LinkOut), **CREATE},
)
async def create_link(
    request: Request, patient_id: RecordId, actor: Annotated[Actor, Depends(staff("links:write"))]
) -> Any:
    """A signed, expiring link for this patient and this purpose. The token is shown once;
    send it to the patient only."""
    data = await body_of(request, links.LinkIn)
    out = await run_in_threadpool(links.create_link, runtime(request), actor, patient_id, data)
    return out.model_dump(mode="json")


@router.post("/api/links/{link_id}/revoke", response_model=None, responses={**ok(dict), **READ_ONE})
def revoke_link(
    request: Request, link_id: RecordId, actor: Annotated[Actor, Depends(staff("links:write"))]
) -> Any:
    """Cancel a link (it stops working at once)."""
    links.revoke_link(runtime(request), actor, link_id)
    return {"revoked": True}
