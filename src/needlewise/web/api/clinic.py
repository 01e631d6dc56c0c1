"""``/api/clinic``: the clinic's name, phone numbers and languages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from needlewise.services import clinic
from needlewise.services.actor import Actor
from needlewise.web.api.auth_deps import runtime, staff
from needlewise.web.api.common import (
    READ_ONE,
    UPDATE,
    body_doc,
    body_of,
    ok,
    required_version,
    versioned,
)

router = APIRouter(prefix="/api/clinic", tags=["clinic"])


@router.get("", response_model=None, responses={**ok(clinic.ClinicOut), **READ_ONE})
def get_clinic(
    request: Request, response: Response, actor: Annotated[Actor, Depends(staff("clinic:read"))]
) -> Any:
    """The clinic (with its ETag for updates)."""
    out = clinic.get_clinic(runtime(request), actor)
    return versioned(response, "clinic", out)


@router.put(
    "",
    response_model=None,
    openapi_extra=body_doc(clinic.ClinicIn, "The clinic's details."),
    responses={**ok(clinic.ClinicOut), **UPDATE},
)
async def put_clinic(
    request: Request, response: Response, actor: Annotated[Actor, Depends(staff("clinic:write"))]
) -> Any:
    """Replace the clinic's details (send If-Match)."""
    data = await body_of(request, clinic.ClinicIn)
    rt = runtime(request)
    version = required_version(request, "clinic", actor.clinic_id or 0)
    out = await run_in_threadpool(clinic.update_clinic, rt, actor, version, data)
    return versioned(response, "clinic", out)
