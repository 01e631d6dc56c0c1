"""Staff side of patient links: create one for a patient, revoke one.

The service hands back the link's token; this door says where the patient uses it: the
patient side of the API, ``/api/p/{token}`` (``GET`` says what the link is for; the
purpose's routes are below it, e.g. ``/api/p/{token}/check-in``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from needlewise.services import links
from needlewise.web.api.deps import LinksWrite, RecordId, RuntimeDep
from needlewise.web.api.patient_side import about_link
from needlewise.web.bodies import body_of
from needlewise.web.openapi import CREATE, READ_ONE, body_doc, created, ok

router = APIRouter(tags=["patient links"])


class LinkOut(BaseModel):
    id: int
    patient_id: int
    purpose: links.Purpose
    session_id: int | None
    token: str = Field(description="Secret: give it to the patient only")
    path: str = Field(
        description="Where the patient's app uses the link: GET it to learn what the link "
        "is for; the purpose's routes are below it (e.g. /api/p/<token>/check-in)"
    )
    expires_at: datetime


def link_out(created: links.LinkCreated) -> LinkOut:
    """The API's answer for a new link: the link with its path on this API."""
    return LinkOut(**created.model_dump(), path=f"{about_link.router.prefix}/{created.token}")


@router.post(
    "/api/patients/{patient_id}/links",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(links.LinkIn, "Purpose (intake, consent, check-in) and validity."),
    responses={**created(LinkOut), **CREATE},
)
async def create_link(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: LinksWrite
) -> Any:
    """A signed, expiring link for this patient and this purpose. The token is shown once;
    send it to the patient only. `path` is where the patient's app uses it
    (`/api/p/<token>`: GET says what the link is for)."""
    data = await body_of(request, links.LinkIn)
    made = await run_in_threadpool(links.create_link, rt, actor, patient_id, data)
    return link_out(made).model_dump(mode="json")


@router.post("/api/links/{link_id}/revoke", response_model=None, responses={**ok(dict), **READ_ONE})
def revoke_link(rt: RuntimeDep, link_id: RecordId, actor: LinksWrite) -> Any:
    """Cancel a link (it stops working at once)."""
    links.revoke_link(rt, actor, link_id)
    return {"revoked": True}
