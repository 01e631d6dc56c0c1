"""Which language a page speaks, and how the choice is remembered.

In order: a ``?lang=`` the visitor just picked (then remembered in the ``nw_lang``
cookie for a year), the cookie, the language on the patient's record (patient-link
pages pass it), the browser's ``Accept-Language``, and English. Patient-link pages also
store a pick on the patient record (:func:`needlewise.services.links.set_language`).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from needlewise.languages import LANGUAGES, Language, as_language

COOKIE = "nw_lang"
QUERY = "lang"
_YEAR = 365 * 24 * 3600


def picked_language(connection: HTTPConnection) -> Language | None:
    """The language the visitor just picked with ``?lang=`` (``None`` when not)."""
    return as_language(connection.query_params.get(QUERY))


def chosen_language(connection: HTTPConnection, on_record: str | None = None) -> Language:
    """The language to speak to this visitor (see the module docstring for the order)."""
    return (
        picked_language(connection)
        or as_language(connection.cookies.get(COOKIE))
        or as_language(on_record)
        or _accepted(connection.headers.get("accept-language", ""))
        or LANGUAGES[0]
    )


def remember(response: Response, language: Language, *, secure: bool) -> None:
    """Keep ``language`` in the visitor's browser (a cookie that holds only its code)."""
    response.set_cookie(
        COOKIE, language, max_age=_YEAR, httponly=True, samesite="lax", secure=secure
    )


def _accepted(header: str) -> Language | None:
    """The listed language the browser ranks highest (``es-MX;q=0.8`` counts as ``es``)."""
    ranked: list[tuple[float, int, Language]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        code = as_language(tag.strip().split("-")[0].lower())
        if code is None:
            continue
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if weight > 0:
            ranked.append((-weight, index, code))
    return min(ranked)[2] if ranked else None
