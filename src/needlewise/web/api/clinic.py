"""``/api/clinic``: the clinic's name, phone numbers and languages."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from needlewise.services import clinic
from needlewise.web.api import record_routes
from needlewise.web.api.deps import ClinicRead, ClinicWrite, RuntimeDep
from needlewise.web.etags import versioned
from needlewise.web.openapi import READ_ONE, UPDATE, body_doc, ok

router = APIRouter(prefix="/api/clinic", tags=["clinic"])
KIND = "clinic"


@router.get("", response_model=None, responses={**ok(clinic.ClinicOut), **READ_ONE})
def get_clinic(rt: RuntimeDep, actor: ClinicRead) -> Any:
    """The clinic (with its ETag for updates)."""
    return versioned(KIND, clinic.get_clinic(rt, actor))


@router.put(
    "",
    response_model=None,
    openapi_extra=body_doc(clinic.ClinicIn, "The clinic's details."),
    responses={**ok(clinic.ClinicOut), **UPDATE},
)
async def put_clinic(request: Request, rt: RuntimeDep, actor: ClinicWrite) -> Any:
    """Replace the clinic's details (send If-Match)."""
    service = partial(clinic.update_clinic, rt, actor)
    return await record_routes.change(request, KIND, actor.clinic_id or 0, clinic.ClinicIn, service)
