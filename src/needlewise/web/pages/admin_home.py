"""``/app/admin``: the admin's start page — staff accounts, providers and their state
scope, the clinic's settings, and the audit log, one click each.

Every admin page is for the admin role only: another role gets a 403 page, and the
refusal is audited (the staff dependency, :func:`needlewise.web.auth.staff`, with an
admin-only permission: ``users:read`` here).

:data:`ROUTERS` are the routers of the front desk and admin pages, added to the app
together (:data:`needlewise.web.pages.PAGE_ROUTERS`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from needlewise.web.api.deps import UsersRead
from needlewise.web.pages import (
    admin_audit,
    admin_clinic,
    admin_mail,
    admin_providers,
    admin_users,
    new_patient,
    patient_links,
)
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/app/admin", response_class=HTMLResponse)
def admin_home(request: Request, _actor: UsersRead) -> HTMLResponse:
    """The admin pages, each with what it is for (admins only)."""
    return render(request, "admin/home.html")


ROUTERS: list[APIRouter] = [
    new_patient.router,
    patient_links.router,
    router,
    admin_users.router,
    admin_providers.router,
    admin_clinic.router,
    admin_audit.router,
    admin_mail.router,
]
