"""``/api/patients``: patient records (every read and write is audited)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from needlewise.services import patients
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

router = APIRouter(prefix="/api/patients", tags=["patients"])


@router.get("", response_model=None, responses={**ok(Page[patients.PatientOut]), **READ})
def list_patients(
    request: Request,
    page: Paging,
    actor: Annotated[Actor, Depends(staff("patients:read"))],
    q: Annotated[
        str | None, Query(max_length=100, description="Start of a given or family name")
    ] = None,
    language: Annotated[Literal["en", "es"] | None, Query()] = None,
) -> Any:
    """Patients by name. Each patient returned is recorded in the audit log."""
    return patients.list_patients(runtime(request), actor, page, q, language).model_dump(
        mode="json"
    )


@router.post(
    "",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(patients.PatientIn, "The patient."),
    responses={**created(patients.PatientOut), **CREATE},
)
async def create_patient(
    request: Request, response: Response, actor: Annotated[Actor, Depends(staff("patients:write"))]
) -> Any:
    data = await body_of(request, patients.PatientIn)
    out = await run_in_threadpool(patients.create_patient, runtime(request), actor, data)
    return versioned(response, "patient", out)


@router.get("/{patient_id}", response_model=None, responses={**ok(patients.PatientOut), **READ_ONE})
def get_patient(
    request: Request,
    response: Response,
    patient_id: RecordId,
    actor: Annotated[Actor, Depends(staff("patients:read"))],
) -> Any:
    out = patients.get_patient(runtime(request), actor, patient_id)
    return versioned(response, "patient", out)


@router.patch(
    "/{patient_id}",
    response_model=None,
    openapi_extra=body_doc(patients.PatientPatch, "Fields to change (send If-Match)."),
    responses={**ok(patients.PatientOut), **UPDATE},
)
async def patch_patient(
    request: Request,
    response: Response,
    patient_id: RecordId,
    actor: Annotated[Actor, Depends(staff("patients:write"))],
) -> Any:
    """Change a patient's details. A stale If-Match gets 412: no edit is silently lost."""
    data = await body_of(request, patients.PatientPatch)
    version = required_version(request, "patient", patient_id)
    out = await run_in_threadpool(
        patients.update_patient, runtime(request), actor, patient_id, version, data
    )
    return versioned(response, "patient", out)
