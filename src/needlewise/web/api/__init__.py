"""The JSON API: one router module per resource, included in the order of :data:`ROUTERS`.

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
    check_ins,
    clinic,
    coding,
    consents,
    health,
    knowledge,
    links,
    patients,
    portal,
    portal_check_in,
    portal_forms,
    providers,
    scope,
    screening,
    screenings,
    sessions,
    triage,
    users,
)

# FastAPI tries the routers in this order and each router it passes costs time, so the
# busiest requests come first: health probes, screening, check-ins from patients and
# staff, triage. No two routers share a path, so the order changes nothing else
# (tests/web/test_api.py checks that every route is reached by its own path).
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    screening.router,
    portal_check_in.router,
    portal_check_in.lean_router,
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
    screenings.router,
    consents.router,
    sessions.router,
    adverse_events.router,
    links.router,
    portal.router,
    portal_forms.router,
    audit.router,
)
