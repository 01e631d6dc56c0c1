"""The JSON API: one router module per resource, included in the order of :data:`ROUTERS`.

Staff-side routers sit here, one per resource; the routes a patient reaches with a signed
link (``/api/p/{token}/...``) sit in :mod:`needlewise.web.api.patient_side`.

A router module declares its routes with the typed dependencies of
:mod:`needlewise.web.api.deps`, calls one function of :mod:`needlewise.services` per
route, and answers in JSON (:mod:`needlewise.web.responses`, :mod:`needlewise.web.etags`;
errors: :mod:`needlewise.web.errors`). A hot route goes on a router with
``route_class=LeanRoute`` (:mod:`needlewise.web.lean`), which refuses at start-up any
route it cannot serve; the other routes of the same module go on a plain router.
"""

from __future__ import annotations

from fastapi import APIRouter

from needlewise.web.api import (
    adverse_events,
    audit,
    auth,
    check_in_schedule,
    check_ins,
    clinic,
    coding,
    consents,
    health,
    knowledge,
    links,
    patients,
    providers,
    scope,
    sessions,
    stateless_screening,
    stored_screenings,
    triage,
    users,
)
from needlewise.web.api.patient_side import about_link, check_in, forms

# FastAPI tries the routers in this order and each router it passes costs time, so the
# busiest requests come first: health probes, screening, check-ins from patients and
# staff, triage. No two routers share a path, so the order changes nothing else
# (tests/web/test_api.py checks that every route is reached by its own path).
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    stateless_screening.router,
    check_in.router,
    check_in.lean_router,
    check_ins.lean_router,
    check_ins.router,
    triage.router,
    coding.router,
    scope.router,
    knowledge.router,
    auth.router,
    clinic.router,
    users.router,
    providers.router,
    patients.router,
    stored_screenings.router,
    consents.router,
    sessions.router,
    check_in_schedule.router,
    adverse_events.router,
    links.router,
    about_link.router,
    forms.router,
    audit.router,
)
