"""``/api/patients``: patient records (every read and write is audited)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from needlewise.languages import Language
from needlewise.services import patients
from needlewise.services.paging import Page
from needlewise.web.api import record_routes
from needlewise.web.api.deps import Paging, PatientsRead, PatientsWrite, RecordId, RuntimeDep
from needlewise.web.etags import versioned
from needlewise.web.openapi import CREATE, READ, READ_ONE, UPDATE, body_doc, created, ok

router = APIRouter(prefix="/api/patients", tags=["patients"])
KIND = "patient"


@router.get("", response_model=None, responses={**ok(Page[patients.PatientOut]), **READ})
def list_patients(
    rt: RuntimeDep,
    page: Paging,
    actor: PatientsRead,
    q: Annotated[
        str | None, Query(max_length=100, description="Start of a given or family name")
    ] = None,
    language: Annotated[Language | None, Query()] = None,
) -> Any:
    """Patients by name. Each patient returned is recorded in the audit log."""
    return patients.list_patients(rt, actor, page, q, language).model_dump(mode="json")


@router.post(
    "",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(patients.PatientIn, "The patient."),
    responses={**created(patients.PatientOut), **CREATE},
)
async def create_patient(request: Request, rt: RuntimeDep, actor: PatientsWrite) -> Any:
    service = partial(patients.create_patient, rt, actor)
    return await record_routes.create(request, KIND, patients.PatientIn, service)


@router.get("/{patient_id}", response_model=None, responses={**ok(patients.PatientOut), **READ_ONE})
def get_patient(rt: RuntimeDep, patient_id: RecordId, actor: PatientsRead) -> Any:
    return versioned(KIND, patients.get_patient(rt, actor, patient_id))


@router.patch(
    "/{patient_id}",
    response_model=None,
    openapi_extra=body_doc(patients.PatientPatch, "Fields to change (send If-Match)."),
    responses={**ok(patients.PatientOut), **UPDATE},
)
async def patch_patient(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: PatientsWrite
) -> Any:
    """Change a patient's details. A stale If-Match gets 412: no edit is silently lost."""
    service = partial(patients.update_patient, rt, actor, patient_id)
    return await record_routes.change(request, KIND, patient_id, patients.PatientPatch, service)
