"""``/app/admin/clinic``: the clinic's settings — its name, the phone numbers patients
are told to call (on their links, aftercare sheets and the emergency advice), the
languages it offers, and its aftercare settings: time zone, quiet hours, the alert
address and how soon an unacknowledged alert is sent again (admins only). The same use case as ``PUT /api/clinic``
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
ZONE_PROBLEM = N_("Please enter a time zone name, like America/Chicago.")
CLOCK_PROBLEM = N_("Please enter a time of day, like 21:00.")
REPEAT_PROBLEM = N_("Please enter whole minutes from 1 to 1440, or leave it empty.")
STALE = N_(
    "Someone saved the clinic's settings in the meantime: nothing was saved. Look at "
    "them again below and make your change again."
)


#: suggested in the time-zone field (any IANA name is accepted)
COMMON_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Europe/Madrid",
    "UTC",
)
#: the form's aftercare fields (one line each)
AFTERCARE_FIELDS = (
    "time_zone",
    "quiet_hours_start",
    "quiet_hours_end",
    "alert_email",
    "repeat_emergency",
    "repeat_call_provider",
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
    repeat = current.aftercare.alert_repeat_minutes
    shown = sent or {
        "name": current.name,
        "phones": "\n".join(current.phones),
        "languages": current.languages,
        "time_zone": current.time_zone,
        "quiet_hours_start": current.quiet_hours_start,
        "quiet_hours_end": current.quiet_hours_end,
        "alert_email": current.alert_email or "",
        "repeat_emergency": str(repeat.get("emergency", "")),
        "repeat_call_provider": str(repeat.get("call-provider", "")),
    }
    return render(
        request,
        "admin/clinic.html",
        {
            "clinic": current,
            "sent": shown,
            "language_choices": [(code, NATIVE_NAMES[code]) for code in LANGUAGES],
            "zone_choices": COMMON_ZONES,
            "repeat_defaults": {
                "emergency": rt.settings.alert_repeat_minutes_emergency,
                "call-provider": rt.settings.alert_repeat_minutes_call_provider,
            },
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
        # a field the form did not carry keeps its stored value (None)
        **{name: value(form, name) if name in form else None for name in AFTERCARE_FIELDS},
    }


def _repeats(sent: dict[str, Any]) -> dict[str, Any]:
    """The alert repeat minutes typed (a blank field keeps the deployment's default)."""
    typed = {"emergency": sent["repeat_emergency"], "call-provider": sent["repeat_call_provider"]}
    return {key: text for key, text in typed.items() if text}


def _kept(sent: dict[str, Any], name: str) -> str | None:
    """A sent aftercare field, or ``None`` (keep the stored value) when it was not sent
    or, for the time zone and quiet hours, left empty."""
    text = sent[name]
    return None if text is None or (not text and name != "alert_email") else str(text)


def _specific(language: str, errors: dict[str, str]) -> dict[str, str]:
    """The general problems of the aftercare fields said more precisely."""
    said = {
        "time_zone": ZONE_PROBLEM,
        "quiet_hours_start": CLOCK_PROBLEM,
        "quiet_hours_end": CLOCK_PROBLEM,
        "aftercare": REPEAT_PROBLEM,
    }
    return {
        field: gettext(language, said[field]) if field in said else message  # type: ignore[arg-type]
        for field, message in errors.items()
    }


@router.post(PATH, response_class=HTMLResponse)
async def save_clinic(request: Request, rt: RuntimeDep, actor: ClinicWrite) -> Response:
    """Save the settings (the version the form showed must still be current)."""
    form = await staff_form(request)
    sent = _sent(form)
    version = value(form, "version")
    language = chosen_language(request)
    stored = (await run_in_threadpool(clinic.get_clinic, rt, actor)).aftercare
    document = {
        "name": sent["name"],
        "phones": phone_lines(sent["phones"]),
        "languages": sent["languages"],
        "time_zone": _kept(sent, "time_zone"),
        "quiet_hours_start": _kept(sent, "quiet_hours_start"),
        "quiet_hours_end": _kept(sent, "quiet_hours_end"),
        "alert_email": _kept(sent, "alert_email"),
    }
    if sent["repeat_emergency"] is not None or sent["repeat_call_provider"] is not None:
        document["aftercare"] = {
            **stored.model_dump(mode="json"),
            "alert_repeat_minutes": _repeats(sent),
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
        errors = _specific(language, field_problems(language, error))
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
