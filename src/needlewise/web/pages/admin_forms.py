"""Reading the staff forms of the front desk and admin pages, and saying what is wrong
next to each field.

A staff form's CSRF token is checked by the staff dependency before the route runs
(:func:`needlewise.web.auth.staff`); :func:`staff_form` then parses the form (no files,
a bounded number of fields). A form is validated against the same input model as its
JSON twin; :func:`field_problems` turns every problem pydantic finds into a plain,
translated sentence keyed by the field's name, and :func:`service_problem` does the same
for a refusal the service raised (an :class:`~needlewise.errors.InputError` naming a
field, such as a weak password). The page then shows the form again, filled in, with
each sentence next to its field (status 422) — nothing was changed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request

from needlewise.errors import InputError
from needlewise.languages import Language
from needlewise.translations import N_
from needlewise.web.pages.rendering import gettext

#: our largest staff form (the clinic's settings) has about twenty fields
MAX_FIELDS = 100
#: longest value kept from any one field (the models bound each field further)
MAX_VALUE = 2000

#: a plain sentence per kind of pydantic problem (the rest: :data:`_OTHER`)
_MESSAGES: dict[str, str] = {
    "missing": N_("Please fill this in."),
    "string_too_short": N_("Please fill this in."),
    "string_too_long": N_("This is too long: at most %(max)s characters."),
    "too_long": N_("Too many entries: at most %(max)s."),
    "too_short": N_("Please choose at least one."),
    "one_line_text": N_(
        "Please use one line of visible text (no line breaks or hidden characters)."
    ),
    "date_from_datetime_parsing": N_("Please enter a date (year, month and day)."),
    "date_parsing": N_("Please enter a date (year, month and day)."),
    "date_type": N_("Please enter a date (year, month and day)."),
    "float_parsing": N_("Please enter a number."),
    "int_parsing": N_("Please enter a whole number."),
    "greater_than": N_("Please enter a number above %(gt)s."),
    "greater_than_equal": N_("Please enter a number of at least %(ge)s."),
    "less_than_equal": N_("Please enter a number of at most %(le)s."),
    "literal_error": N_("Please choose one of the options."),
    "enum": N_("Please choose one of the options."),
    "bool_parsing": N_("Please choose one of the options."),
}
_EMAIL = N_("Please enter an email address, like name@example.com.")
_OTHER = N_("Please check this value.")


async def staff_form(request: Request) -> FormData:
    """The posted form of a staff page (its CSRF token is already checked)."""
    return await request.form(max_files=0, max_fields=MAX_FIELDS)


def value(form: FormData, name: str) -> str:
    """The field ``name`` as text, surrounding spaces removed (``""`` when absent)."""
    found = form.get(name)
    return found.strip()[:MAX_VALUE] if isinstance(found, str) else ""


def values(form: FormData, name: str) -> list[str]:
    """Every value sent under ``name`` (checkboxes), blank ones left out."""
    return [v.strip()[:MAX_VALUE] for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def optional(form: FormData, name: str) -> str | None:
    """The field ``name``, or ``None`` when it was left empty (optional fields)."""
    return value(form, name) or None


def field_problems(language: Language, error: ValidationError) -> dict[str, str]:
    """{field name: what to change, in ``language``} for every problem of ``error``
    (the first problem of a field is enough to show)."""
    found: dict[str, str] = {}
    for problem in error.errors():
        location = problem.get("loc", ())
        field = str(location[0]) if location else ""
        if field not in found:
            found[field] = _sentence(language, problem)
    return found


def service_problem(language: Language, error: InputError) -> tuple[str, str]:
    """(field name, what to change) for a refusal of the service naming a field at
    ``$.field``. The service's own words (English) follow a translated lead sentence."""
    field = error.where.removeprefix("$.").split(".")[0].split("[")[0]
    lead = gettext(language, N_("This cannot be used."))
    detail = error.problem[:1].upper() + error.problem[1:]
    return field, f"{lead} {detail}"


def _sentence(language: Language, problem: Any) -> str:
    kind = str(problem.get("type", ""))
    if kind == "value_error" and "email" in str(problem.get("msg", "")).lower():
        return gettext(language, _EMAIL)
    message = _MESSAGES.get(kind)
    if message is None:
        return gettext(language, _OTHER)
    context = problem.get("ctx") or {}
    limits = {
        "max": context.get("max_length", ""),
        "gt": context.get("gt", ""),
        "ge": context.get("ge", ""),
        "le": context.get("le", ""),
    }
    return gettext(language, message, **limits) if "%(" in message else gettext(language, message)
