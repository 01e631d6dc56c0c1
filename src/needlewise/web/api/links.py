"""Staff side of patient links: create one for a patient, revoke one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from needlewise.services import links
from needlewise.web.api.deps import LinksWrite, RecordId, RuntimeDep
from needlewise.web.bodies import body_of
from needlewise.web.openapi import CREATE, READ_ONE, body_doc, created, ok

router = APIRouter(tags=["patient links"])


@router.post(
    "/api/patients/{patient_id}/links",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(links.LinkIn, "Purpose (intake, consent, check-in) and validity."),
    responses={**created(links.LinkOut), **CREATE},
)
async def create_link(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: LinksWrite
) -> Any:
    """A signed, expiring link for this patient and this purpose. The token is shown once;
    send it to the patient only."""
    data = await body_of(request, links.LinkIn)
    out = await run_in_threadpool(links.create_link, rt, actor, patient_id, data)
    return out.model_dump(mode="json")


@router.post("/api/links/{link_id}/revoke", response_model=None, responses={**ok(dict), **READ_ONE})
def revoke_link(rt: RuntimeDep, link_id: RecordId, actor: LinksWrite) -> Any:
    """Cancel a link (it stops working at once)."""
    links.revoke_link(rt, actor, link_id)
    return {"revoked": True}
