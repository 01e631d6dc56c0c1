"""Render a page: the Jinja2 templates of ``web/templates/`` in the visitor's language.

One :class:`jinja2.Environment` per language (built on first use, never at import),
autoescaped, with gettext from :func:`needlewise.translations.catalogs.translations_for`
installed new-style: templates write ``{{ _("Call 911 now") }}`` and
``{{ _("%(count)s muscles", count=n) }}``, and every message is extracted by Babel
(``babel.cfg``).

:func:`render` answers an HTML page. Every page gets, besides its own context:

* ``lang``, ``languages`` (code, own name, the URL of this page in it) and ``_``;
* ``csrf_token`` — the staff session's CSRF token (staff pages; ``None`` elsewhere);
* ``form_token`` — the double-submit token of forms sent without a session
  (:mod:`needlewise.web.pages.form_guard`);
* ``staff`` — the signed-in staff member's :class:`~needlewise.services.actor.Actor`,
  if any (``None`` on patient pages);
* ``path`` — this page's path (to mark the current menu entry);
* ``local(moment, fmt="%Y-%m-%d %H:%M")`` — a stored (UTC) time as the clinic reads it, in
  the clinic's time zone with its abbreviation (:mod:`needlewise.services.clinic_time`);
  UTC on pages that belong to no clinic. ``<time datetime=...>`` keeps the ISO UTC value.

The security middleware adds the pages' content security policy (scripts and styles
from this server only, no inline script or style) and ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse

from needlewise.languages import LANGUAGES, NATIVE_NAMES, Language
from needlewise.services.clinic_time import DEFAULT_FORMAT, local
from needlewise.translations.catalogs import translations_for
from needlewise.web.pages.form_guard import form_token, set_form_cookie
from needlewise.web.pages.language import QUERY, chosen_language, picked_language, remember


@cache
def environment(language: Language) -> Environment:
    """The template environment speaking ``language`` (one per language, kept)."""
    env = Environment(
        loader=PackageLoader("needlewise.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations_for(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = language
    return env


def gettext(language: Language, message: str, **values: Any) -> str:
    """``message`` in ``language`` (for words a page module builds, e.g. a notice)."""
    text = translations_for(language).gettext(message)
    return text % values if values else text


def url_in(connection: HTTPConnection, language: Language) -> str:
    """This page's path and query with ``?lang=`` set to ``language``."""
    query = [(k, v) for k, v in connection.query_params.multi_items() if k != QUERY]
    query.append((QUERY, language))

    return f"{connection.url.path}?{urlencode(query)}"


def clinic_zone(connection: HTTPConnection) -> ZoneInfo:
    """The time zone of the clinic whose staff member or patient link is asking (UTC
    for a visitor of no clinic)."""
    actor = getattr(connection.state, "actor", None)
    runtime = getattr(connection.app.state, "runtime", None)
    clinic_id = getattr(actor, "clinic_id", None)
    if runtime is None or clinic_id is None:
        return ZoneInfo("UTC")
    zone: ZoneInfo = runtime.clinic_zones.zone(runtime.db, clinic_id)
    return zone


def clock(zone: ZoneInfo) -> Callable[..., str]:
    """The ``local`` template function for ``zone``."""

    def shown(moment: datetime | None, fmt: str = DEFAULT_FORMAT) -> str:
        return local(moment, zone, fmt)

    return shown


def render(
    connection: HTTPConnection,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    language: Language | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page ``template`` rendered with ``context`` in ``language`` (default: the
    visitor's, :func:`~needlewise.web.pages.language.chosen_language`)."""
    language = language or chosen_language(connection)
    state = connection.state
    session = getattr(state, "auth_session", None)
    actor = getattr(state, "actor", None)
    token, new_token = form_token(connection)
    values: dict[str, Any] = {
        "languages": [(code, NATIVE_NAMES[code], url_in(connection, code)) for code in LANGUAGES],
        "csrf_token": session.csrf_token if session is not None else None,
        "form_token": token,
        "staff": actor if actor is not None and actor.user_id is not None else None,
        "path": connection.url.path,
        "local": clock(clinic_zone(connection)),
        **(context or {}),
    }
    html = environment(language).get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
    secure = connection.url.scheme == "https"
    if new_token:
        set_form_cookie(response, token, secure=secure)
    picked = picked_language(connection)
    if picked is not None:
        remember(response, picked, secure=secure)
    return response
