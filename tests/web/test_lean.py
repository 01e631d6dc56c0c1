"""Lean request handling (web/lean.py) answers exactly as FastAPI's own handler would.

Each request of the table is sent twice to the same app: once through the lean handler,
once with ``app.dependency_overrides`` made non-empty, which makes every lean route use
FastAPI's standard handler. Status, error body and (for computed answers) the whole
body must be the same. Then: which routes are lean, that a signature the lean plan
cannot serve fails at start-up, and that no lean router is included with router-level
dependencies (which the lean plan would not run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.security.roles import Role
from needlewise.services.patients import PatientIn, create_patient
from needlewise.web.lean import LeanRoute, NotLean, is_lean
from needlewise.web.openapi import api_routes
from support.http import ApiClient
from support.service import Service

HOT_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),  # probed every few seconds by each load balancer
    ("POST", "/api/screen"),
    ("POST", "/api/triage"),
    ("POST", "/api/code-session"),
    ("POST", "/api/patients/{patient_id}/check-ins"),
    ("POST", "/api/p/{token}/check-in"),
    # the CDS Hooks door: an EHR waits on the answer (order-select is benchmarked)
    ("GET", "/cds-services"),
    ("POST", "/cds-services/{service_id}"),
    ("POST", "/cds-services/{service_id}/feedback"),
}
THREE_MUSCLES = {
    "muscles": [
        {"muscle": "muscle.upper-trapezius", "laterality": "left"},
        {"muscle": "muscle.levator-scapulae", "laterality": "left"},
        {"muscle": "muscle.rhomboids", "laterality": "right"},
    ]
}
CHECK_IN = {"symptoms": ["symptom.soreness"], "hours_since_treatment": 20, "language": "en"}


class Named(BaseModel):
    """A body model (declared at module level, so FastAPI resolves the annotation)."""

    name: str


def sync_dependency(request: Request) -> str:
    """A dependency the lean plan cannot run (it is not async)."""
    return request.url.path


def _unused() -> None:
    """Never called: its presence in dependency_overrides forces FastAPI's handler."""


def intake(service: Service) -> dict[str, Any]:
    return answered_intake(service.runtime.kb)


Case = tuple[str, str, str, Role | None, Callable[[Service], Any] | bytes | None]


def cases(patient: int) -> list[Case]:
    """(label, method, url, role or None for no credentials, JSON body maker or raw bytes)."""
    c = Role.clinician
    check_ins = f"/api/patients/{patient}/check-ins"
    return [
        ("liveness", "GET", "/healthz", None, None),
        ("screen intake", "POST", "/api/screen?as_of=2026-11-26", c, intake),
        (
            "screen options",
            "POST",
            "/api/screen?electrical_stimulation=true&language=es",
            c,
            intake,
        ),
        ("screen unknown query ignored", "POST", "/api/screen?colour=blue", c, intake),
        ("screen bad date", "POST", "/api/screen?as_of=2026-13-01", c, intake),
        ("screen bad language", "POST", "/api/screen?language=fr", c, intake),
        ("screen bad boolean", "POST", "/api/screen?electrical_stimulation=maybe", c, intake),
        ("screen two bad params", "POST", "/api/screen?as_of=x&language=fr", c, intake),
        ("screen no credentials", "POST", "/api/screen", None, intake),
        ("screen no credentials, bad query", "POST", "/api/screen?as_of=x", None, intake),
        ("screen malformed JSON", "POST", "/api/screen", c, b"{not json"),
        ("screen empty body", "POST", "/api/screen", c, b""),
        ("screen wrong document", "POST", "/api/screen", c, lambda _s: {"resourceType": "Patient"}),
        ("triage", "POST", "/api/triage", c, lambda _s: {"symptoms": ["symptom.chest-pain"]}),
        ("triage unknown symptom", "POST", "/api/triage", c, lambda _s: {"symptoms": ["x"]}),
        ("code session", "POST", "/api/code-session", c, lambda _s: THREE_MUSCLES),
        ("check-in front desk", "POST", check_ins, Role.front_desk, lambda _s: CHECK_IN),
        ("check-in bad session id", "POST", f"{check_ins}?session_id=0", c, lambda _s: CHECK_IN),
        ("check-in text session id", "POST", f"{check_ins}?session_id=a", c, lambda _s: CHECK_IN),
        ("check-in unknown session", "POST", f"{check_ins}?session_id=99", c, lambda _s: CHECK_IN),
        ("check-in text patient id", "POST", "/api/patients/abc/check-ins", c, lambda _s: CHECK_IN),
        ("check-in zero patient id", "POST", "/api/patients/0/check-ins", c, lambda _s: CHECK_IN),
        ("check-in huge patient id", "POST", f"/api/patients/{10**30}/check-ins", c, lambda _s: {}),
        ("check-in unknown patient", "POST", "/api/patients/987654/check-ins", c, lambda _s: {}),
        ("check-in bad answers", "POST", check_ins, c, lambda _s: {"symptoms": "soreness"}),
        ("patient link unknown", "POST", "/api/p/not-a-link/check-in", None, lambda _s: CHECK_IN),
    ]


def send(service: Service, case: Case) -> httpx.Response:
    _label, method, url, role, body = case
    headers = {"content-type": "application/json"}
    if role is not None:
        headers |= service.headers(role)
    if callable(body):
        return service.client.request(method, url, json=body(service), headers=headers)
    return service.client.request(method, url, content=body, headers=headers)


def comparable(response: httpx.Response) -> tuple[int, Any]:
    """Status and body; a created check-in is compared by its stable fields."""
    body = response.json()
    if response.status_code == 201:
        return 201, (sorted(body), body["disposition"], body["patient_id"], body["result"])
    return response.status_code, body


def test_lean_and_standard_handlers_answer_alike(service: Service) -> None:
    patient = create_patient(
        service.runtime,
        service.actor(Role.clinician),
        PatientIn(given_name="Lean", family_name="Synthetic"),
    ).id
    table = cases(patient)
    lean = {case[0]: comparable(send(service, case)) for case in table}
    service.app.dependency_overrides[_unused] = _unused
    try:
        standard = {case[0]: comparable(send(service, case)) for case in table}
    finally:
        service.app.dependency_overrides.clear()
    for label, _method, _url, _role, _body in table:
        assert lean[label] == standard[label], label
    # the table reaches every kind of answer, so equality above means something
    statuses = {status for status, _ in lean.values()}
    assert {200, 201, 400, 401, 404, 422}.issubset(statuses), statuses
    assert lean["screen two bad params"][1]["error"]["location"] == "as_of"
    assert lean["screen no credentials, bad query"][0] == 401  # credentials are checked first


def test_hot_routes_are_lean_and_others_are_not(service: Service) -> None:
    routes = api_routes(service.app.router.routes)
    assert len(routes) > len(HOT_ROUTES)
    lean = {(m, r.path) for r in routes if is_lean(r) for m in r.methods or ()}
    assert lean == HOT_ROUTES


def test_a_route_the_lean_plan_cannot_serve_fails_at_start_up() -> None:
    """Declaring an unplannable route on a lean router raises, naming the route and
    every reason, instead of silently taking FastAPI's handler."""

    router = APIRouter(route_class=LeanRoute)

    async def with_body(body: Named) -> dict[str, str]:
        return {"name": body.name}

    async def with_header(x_thing: str = Header()) -> dict[str, str]:
        return {"thing": x_thing}

    def sync_endpoint(request: Request) -> dict[str, str]:
        return {"path": request.url.path}

    async def with_list(tag: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        return {"tags": tag}

    async def with_sync_dependency(path: Annotated[str, Depends(sync_dependency)]) -> Any:
        return path

    async def with_model(request: Request) -> Named:
        return Named(name=request.url.path)

    cases: list[tuple[str, str, Callable[..., Any], str]] = [
        ("POST", "/body", with_body, "it takes a body parameter"),
        ("GET", "/header", with_header, "it takes header parameters"),
        ("GET", "/sync", sync_endpoint, "the endpoint is not an async function"),
        ("GET", "/list", with_list, "its parameter 'tag' is not a single value"),
        ("GET", "/dep", with_sync_dependency, "its dependency 'path' is not an async function"),
        ("GET", "/model", with_model, "it declares a response model"),
    ]
    for method, path, endpoint, reason in cases:
        with pytest.raises(NotLean) as refused:
            router.add_api_route(path, endpoint, methods=[method])
        assert f"{method} {path} ({endpoint.__name__})" in str(refused.value)
        assert reason in str(refused.value), str(refused.value)
    assert router.routes == []  # nothing was declared

    # the same signatures are fine on a plain router, and the plannable one on a lean one
    plain = APIRouter()
    for method, path, endpoint, _reason in cases:
        plain.add_api_route(path, endpoint, methods=[method])

    async def lean(request: Request, limit: int = 3) -> JSONResponse:
        return JSONResponse({"path": request.url.path, "limit": limit})

    router.add_api_route("/lean", lean, methods=["GET"], response_model=None)
    app = FastAPI()
    app.include_router(router)
    app.include_router(plain)
    client = ApiClient(app)
    try:
        assert client.get("/lean?limit=4").json() == {"path": "/lean", "limit": 4}
        assert client.get("/sync").json() == {"path": "/sync"}
    finally:
        client.close()


def test_lean_routers_have_no_router_level_dependencies(service: Service) -> None:
    """The lean plan reads a route's own signature only; an include-level dependency
    would be skipped, so none may exist (FastAPI keeps them on the include context)."""
    included = [r for r in service.app.router.routes if hasattr(r, "include_context")]
    assert included, "FastAPI's include representation changed: revisit web/lean.py"
    for branch in included:
        assert not branch.include_context.dependencies
    for route in api_routes(service.app.router.routes):
        if isinstance(route, LeanRoute):
            assert not route.dependencies, route.path
