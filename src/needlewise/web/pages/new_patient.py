"""``/app/patients/new``: the front desk registers a patient — the form twin of
``POST /api/patients`` (the same input model and use case,
:func:`needlewise.services.patients.create_patient`, audited there).

Names are required; birth date, sex, phone, email and address are optional; the
preferred language (one of :data:`needlewise.languages.LANGUAGES`) is the language the
patient's links, forms and copies will speak. A problem shows the form again, filled in,
with the reason next to the field (422); nothing is saved. Once saved, the browser goes
to the patient's links page, to send the intake or consent link.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.errors import InputError
from needlewise.languages import LANGUAGES, NATIVE_NAMES
from needlewise.services import patients
from needlewise.translations import N_
from needlewise.web.api.deps import PatientsWrite, RuntimeDep
from needlewise.web.pages.admin_forms import (
    field_problems,
    optional,
    service_problem,
    staff_form,
    value,
)
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

PATH = "/app/patients/new"
#: the choices of the "sex" field (the model's values), as the form words them
SEXES: tuple[tuple[str, str], ...] = (
    ("", N_("Not recorded")),
    ("female", N_("Female")),
    ("male", N_("Male")),
    ("other", N_("Other")),
    ("unknown", N_("Unknown")),
)
FIELDS = ("given_name", "family_name", "birth_date", "sex", "preferred_language", "phone",
          "email", "address")  # fmt: skip


def _page(request: Request, sent: dict[str, str], errors: dict[str, str], status: int) -> Response:
    return render(
        request,
        "desk/new_patient.html",
        {
            "sent": sent,
            "errors": errors,
            "sexes": SEXES,
            "language_choices": [(code, NATIVE_NAMES[code]) for code in LANGUAGES],
        },
        status=status,
    )


@router.get(PATH, response_class=HTMLResponse)
def new_patient_form(request: Request, _actor: PatientsWrite) -> Response:
    """The empty form (front desk, clinicians and admins)."""
    return _page(request, dict.fromkeys(FIELDS, "") | {"preferred_language": LANGUAGES[0]}, {}, 200)


def _document(form: FormData) -> dict[str, Any]:
    """The form as the JSON twin's body: optional fields left empty are left out."""
    document: dict[str, Any] = {
        "given_name": value(form, "given_name"),
        "family_name": value(form, "family_name"),
        "preferred_language": value(form, "preferred_language") or LANGUAGES[0],
    }
    for name in ("birth_date", "sex", "phone", "email", "address"):
        given = optional(form, name)
        if given is not None:
            document[name] = given
    return document


@router.post(PATH, response_class=HTMLResponse)
async def create_patient(request: Request, rt: RuntimeDep, actor: PatientsWrite) -> Response:
    """Save the patient, then open their links page."""
    form = await staff_form(request)
    sent = {name: value(form, name) for name in FIELDS}
    language = chosen_language(request)
    try:
        data = patients.PatientIn.model_validate(_document(form))
        created = await run_in_threadpool(patients.create_patient, rt, actor, data)
    except ValidationError as error:
        return _page(request, sent, field_problems(language, error), 422)
    except InputError as error:
        field, message = service_problem(language, error)
        return _page(request, sent, {field: message}, 422)
    return RedirectResponse(f"/app/patients/{created.id}/links", status_code=303)
