"""``/app/admin/clinic``: the clinic's settings — its name, the phone numbers patients
are told to call (on their links, aftercare sheets and the emergency advice), and the
languages it offers (admins only). The same use case as ``PUT /api/clinic``
(:func:`needlewise.services.clinic.update_clinic`, audited there).

Phone numbers are typed one per line (at most 10, each one line of at most 40
characters, e.g. ``555-0199 (after hours)``). The form carries the version of the
settings it showed: when someone saved other settings in the meantime the page says so
(412) and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.errors import InputError, PreconditionFailed
from needlewise.languages import LANGUAGES, NATIVE_NAMES
from needlewise.services import clinic
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime
from needlewise.translations import N_
from needlewise.web.api.deps import ClinicWrite, RuntimeDep
from needlewise.web.pages.admin_forms import (
    field_problems,
    service_problem,
    staff_form,
    value,
    values,
)
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import gettext, render

router = APIRouter(include_in_schema=False)

PATH = "/app/admin/clinic"
STALE = N_(
    "Someone saved the clinic's settings in the meantime: nothing was saved. Look at "
    "them again below and make your change again."
)


def phone_lines(text: str) -> list[str]:
    """The phone numbers typed one per line (blank lines left out)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _page(
    request: Request,
    rt: Runtime,
    actor: Actor,
    *,
    sent: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    current = clinic.get_clinic(rt, actor)
    shown = sent or {
        "name": current.name,
        "phones": "\n".join(current.phones),
        "languages": current.languages,
    }
    return render(
        request,
        "admin/clinic.html",
        {
            "clinic": current,
            "sent": shown,
            "language_choices": [(code, NATIVE_NAMES[code]) for code in LANGUAGES],
            "errors": errors or {},
            "notice": notice,
            "saved": "saved" in request.query_params,
        },
        status=status,
    )


@router.get(PATH, response_class=HTMLResponse)
async def clinic_page(request: Request, rt: RuntimeDep, actor: ClinicWrite) -> Response:
    """The settings form, filled in."""
    return await run_in_threadpool(_page, request, rt, actor)


def _sent(form: FormData) -> dict[str, Any]:
    phones = form.get("phones")
    return {
        "name": value(form, "name"),
        "phones": phones[:2000] if isinstance(phones, str) else "",
        "languages": values(form, "languages"),
    }


@router.post(PATH, response_class=HTMLResponse)
async def save_clinic(request: Request, rt: RuntimeDep, actor: ClinicWrite) -> Response:
    """Save the settings (the version the form showed must still be current)."""
    form = await staff_form(request)
    sent = _sent(form)
    version = value(form, "version")
    language = chosen_language(request)
    document = {
        "name": sent["name"],
        "phones": phone_lines(sent["phones"]),
        "languages": sent["languages"],
    }
    errors: dict[str, str] = {}
    notice: str | None = None
    shown: dict[str, Any] | None = sent
    status = 422
    try:
        data = clinic.ClinicIn.model_validate(document)
        if not version.isdigit():
            raise PreconditionFailed("no version")
        await run_in_threadpool(clinic.update_clinic, rt, actor, int(version), data)
    except ValidationError as error:
        errors = field_problems(language, error)
    except InputError as error:
        field, message = service_problem(language, error)
        errors = {field: message}
    except PreconditionFailed:
        # show the settings as they are now, not the form as sent
        notice, status, shown = gettext(language, STALE), 412, None
    else:
        return RedirectResponse(f"{PATH}?saved", status_code=303)
    return await run_in_threadpool(
        lambda: _page(request, rt, actor, sent=shown, errors=errors, notice=notice, status=status)
    )
