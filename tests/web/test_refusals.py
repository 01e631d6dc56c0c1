"""What a refused request was, as its audit entry records it (issue 9): read from the
route template and the ids the caller put in the URL, never from a token or a body."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.requests import Request

from needlewise.web.app import create_app
from needlewise.web.openapi import api_routes
from needlewise.web.refusals import describe
from support.routes import methods
from support.service import settings_for

TOKEN = "MTIz.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], APIRoute]:
    folder = tmp_path_factory.mktemp("refusals")
    app = create_app(settings_for(f"sqlite:///{folder / 'db.sqlite'}"))
    found = {
        (method, route.path): route
        for route in api_routes(app.router.routes)
        for method in methods(route)
    }
    app.state.runtime.db.dispose()
    return found


def request_for(route: APIRoute, method: str, query: bytes = b"", **params: str) -> Request:
    path_params = {name: params.get(name, "17") for name in route.param_convertors}
    if "token" in path_params:
        path_params["token"] = TOKEN
    scope = {
        "type": "http",
        "method": method,
        "path": route.path.format(**path_params),
        "query_string": query,
        "headers": [],
        "route": route,
        "path_params": path_params,
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/patients/{patient_id}", ("read", "patient", 17, 17)),
        ("PATCH", "/api/patients/{patient_id}", ("update", "patient", 17, 17)),
        ("POST", "/api/patients/{patient_id}/check-ins", ("create", "check-in", None, 17)),
        ("GET", "/api/sessions/{session_id}", ("read", "session", 17, None)),
        ("POST", "/api/consents/{consent_id}/withdraw", ("withdraw", "consent", 17, None)),
        ("GET", "/api/consents/{consent_id}/copy", ("read", "consent-copy", 17, None)),
        ("GET", "/api/providers/{provider_id}/scope", ("read", "provider-scope", 17, None)),
        ("POST", "/api/links/{link_id}/revoke", ("revoke", "patient-link", 17, None)),
        ("POST", "/api/auth/logout", ("logout", "session", None, None)),
        ("POST", "/api/auth/tokens", ("create", "api-token", None, None)),
        ("GET", "/api/audit", ("read", "audit-log", None, None)),
        ("GET", "/api/p/{token}", ("read", "patient-link", None, None)),
        ("POST", "/app/patients/new", ("create", "patient", None, None)),
        ("POST", "/app/login", ("login", "session", None, None)),
        ("GET", "/app", ("read", "page", None, None)),
        ("POST", "/api/p/{token}/check-in", ("create", "check-in", None, None)),
        ("GET", "/cds-services", ("read", "cds-service", None, None)),
        ("POST", "/cds-services/{service_id}", ("create", "cds-service", 17, None)),
        ("POST", "/cds-services/{service_id}/feedback", ("create", "cds-feedback", None, None)),
    ],
)
def test_a_refused_request_is_described_by_its_route(
    routes: dict[tuple[str, str], APIRoute],
    method: str,
    path: str,
    expected: tuple[str, str, int | None, int | None],
) -> None:
    assert describe(request_for(routes[method, path], method)) == expected


def test_every_route_has_a_description_that_fits_the_audit_log(
    routes: dict[tuple[str, str], APIRoute],
) -> None:
    for (method, path), route in routes.items():
        action, resource, resource_id, patient_id = describe(request_for(route, method))
        assert resource != "unknown", path
        assert 0 < len(action) <= 20, (path, action)  # the audit_log columns' sizes
        assert 0 < len(resource) <= 40, (path, resource)
        assert TOKEN not in resource, path
        if "{token}" in path:
            assert (resource_id, patient_id) == (None, None), path


@pytest.mark.parametrize(
    "value",
    ["abc", "-1", "0", "2147483648", "99999999999999999999", "1e3", "٣", "7 ", "Alice Smith"],
)
def test_only_a_real_id_the_caller_named_is_kept(
    routes: dict[tuple[str, str], APIRoute], value: str
) -> None:
    route = routes["GET", "/api/patients/{patient_id}"]
    assert describe(request_for(route, "GET", patient_id=value))[2:] == (None, None)
    listing = routes["GET", "/api/sessions"]
    query = b"patient_id=" + value.encode()
    assert describe(request_for(listing, "GET", query))[3] is None
    assert describe(request_for(listing, "GET", b"patient_id=42"))[3] == 42
