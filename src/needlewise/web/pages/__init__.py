"""The HTML pages: the door patients and clinic staff use in a browser.

One module per screen or flow; each route parses its form, calls the same ``services/``
function as its JSON twin under ``/api``, and renders a template of ``web/templates/``
(:func:`needlewise.web.pages.rendering.render`). Pages are not in the OpenAPI document.

:func:`add_pages` adds them to the app: the routers of :data:`PAGE_ROUTERS`, the static
files (``web/static/``: our style sheet and scripts, and the vendored htmx and signature
pad — nothing from a CDN), and the HTML error dialect for the page prefixes.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from needlewise.web.errors import add_error_dialect
from needlewise.web.middleware import PAGE_PATHS
from needlewise.web.openapi import STATIC
from needlewise.web.pages import (
    chart,
    consent_pdf,
    emergency_plan,
    home,
    learn,
    login,
    outbox,
    outcome_entry,
    patient_check_in,
    patient_consent,
    patient_intake,
    patient_link,
    patient_stop,
    safety,
    session_note,
    take_home,
    today,
)
from needlewise.web.pages.admin_home import ROUTERS as DESK_AND_ADMIN_ROUTERS
from needlewise.web.pages.error_page import error_page

#: the path prefixes answered by pages (their errors are pages too; the middleware
#: gives them the pages' content security policy)
PAGE_PREFIXES = PAGE_PATHS

PAGE_ROUTERS: list[APIRouter] = [
    home.router,
    login.router,
    emergency_plan.router,
    learn.router,
    patient_link.router,
    patient_intake.router,
    patient_consent.router,
    patient_check_in.router,
    patient_stop.router,
    consent_pdf.router,
    # before the chart: /app/patients/new is not /app/patients/{patient_id}
    *DESK_AND_ADMIN_ROUTERS,
    today.router,
    outbox.router,
    chart.router,
    outcome_entry.router,
    session_note.router,
    take_home.router,
    safety.router,
]


def add_pages(app: FastAPI) -> None:
    """Add the pages, their static files and their error dialect to ``app``."""
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for prefix in PAGE_PREFIXES:
        add_error_dialect(app, prefix, error_page)
