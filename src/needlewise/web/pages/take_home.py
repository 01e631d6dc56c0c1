"""The take-home sheet with the clinic's own phone numbers, in the patient's language.

``/learn/aftercare.pdf`` is the public sheet (no clinic: each number is a line to write
it on). These hand it over filled in:

* ``/app/patients/{patient_id}/aftercare.pdf`` — for staff after each session (the
  chart's notice after saving links it), in the patient's preferred language;
* ``/p/{token}/aftercare.pdf`` — from a patient's check-in link, in their language.

The clinic's first number is the day number, the second the after-hours one
(``/app/admin/clinic`` lists them in that order).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from needlewise.services import clinic, links, patients
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime
from needlewise.web.api.deps import AnyLink, PatientsRead, RecordId, RuntimeDep
from needlewise.web.pages.aftercare_document import ClinicPhones, aftercare_pdf
from needlewise.web.pages.pdf import pdf_response

router = APIRouter(include_in_schema=False)


def phones_of(runtime: Runtime, actor: Actor) -> ClinicPhones:
    """The clinic's day and after-hours numbers (``None`` where the clinic gave none)."""
    numbers = clinic.clinic_phones(runtime, actor)
    return ClinicPhones(
        day=numbers[0] if numbers else None,
        after_hours=numbers[1] if len(numbers) > 1 else None,
    )


def filename(language: str) -> str:
    return f"needlewise-aftercare-{language}.pdf"


@router.get("/app/patients/{patient_id}/aftercare.pdf")
async def sheet_for_patient(rt: RuntimeDep, patient_id: RecordId, actor: PatientsRead) -> Response:
    """The sheet to print for this patient (their language, the clinic's numbers)."""
    patient = await run_in_threadpool(patients.get_patient, rt, actor, patient_id)
    phones = await run_in_threadpool(phones_of, rt, actor)
    pdf = await run_in_threadpool(aftercare_pdf, rt.kb, patient.preferred_language, phones)
    return pdf_response(pdf, filename(patient.preferred_language))


@router.get("/p/{token}/aftercare.pdf")
async def sheet_for_link(rt: RuntimeDep, token: str, actor: AnyLink) -> Response:
    """The sheet from a patient's link (their language, their clinic's numbers)."""
    info = await run_in_threadpool(links.link_info, rt, actor)
    phones = await run_in_threadpool(phones_of, rt, actor)
    pdf = await run_in_threadpool(aftercare_pdf, rt.kb, info.language, phones)
    return pdf_response(pdf, filename(info.language))
