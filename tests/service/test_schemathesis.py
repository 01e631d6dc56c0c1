"""Schemathesis over the whole OpenAPI document (issue 3, item 7), on SQLite and on
PostgreSQL: no request gets a server error (5xx) and no response has a status the
document does not list for its operation (checks ``not_a_server_error`` and
``status_code_conformance``).

The app runs in-process (``schemathesis.openapi.from_asgi``), one per backend for the
module, on a clinic seeded with one record of every kind so generated ids sometimes hit
real records; state accumulates across examples. Every operation is fuzzed with valid and
invalid (negative) cases three times: as the admin, as a clinician (whose routes the admin
may not use, so their bodies are fuzzed too) and as the front desk (so role-refused paths
and their documented 403 run). Updates get a current ``If-Match`` read just before, so
generated bodies reach the update code and not only the 428; valid cases on the patient
routes get a real link of the route's purpose, so those bodies are fuzzed too.

Hypothesis is driven through ``operation.as_strategy()``: ``schemathesis.pytest.from_fixture``
(the lazy loader a module-scoped app needs) fails on pytest 9.2 (it sets
``Function._nodeid``, which pytest 9.2 no longer has). The run is bounded and
derandomized, so it is the same run every time; the last tests pin what it found.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import func, select

from needlewise.persistence.models import AuthSession
from needlewise.security.roles import Role
from needlewise.services.api_tokens import mint_api_token
from needlewise.web.openapi import api_routes
from support.routes import methods
from support.service import Service, make_service, settings_for
from support.treatment import session_body, signature_png

if TYPE_CHECKING:  # schemathesis names its OpenAPI types for type checkers only
    from schemathesis.specs.openapi.schemas import OpenApiCase, OpenApiOperation

#: examples per operation, role and backend (valid and invalid cases together): about a
#: minute and a half for the whole file on both backends
MAX_EXAMPLES = 30
ROLES = [Role.admin, Role.clinician, Role.front_desk]
#: the purpose of the link each patient route needs (``/api/p/{token}`` takes any)
LINK_PURPOSE = {
    "/api/p/{token}": "check-in",
    "/api/p/{token}/intake-questionnaire": "intake",
    "/api/p/{token}/intake": "intake",
    "/api/p/{token}/consent-text": "consent",
    "/api/p/{token}/consent": "consent",
    "/api/p/{token}/check-in-questionnaire": "check-in",
    "/api/p/{token}/check-in": "check-in",
}
#: the operations that need If-Match, and where to read the current ETag
ETAG_SOURCE = {
    ("PUT", "/api/clinic"): "/api/clinic",
    ("PATCH", "/api/users/{user_id}"): "/api/users/{user_id}",
    ("PATCH", "/api/providers/{provider_id}"): "/api/providers/{provider_id}",
    ("PATCH", "/api/patients/{patient_id}"): "/api/patients/{patient_id}",
    ("PATCH", "/api/sessions/{session_id}"): "/api/sessions/{session_id}",
    ("PATCH", "/api/adverse-events/{event_id}"): "/api/adverse-events/{event_id}",
    ("POST", "/api/consents/{consent_id}/withdraw"): "/api/consents/{consent_id}",
    ("POST", "/api/check-ins/{check_in_id}/acknowledge"): "/api/check-ins/{check_in_id}",
}
CHECKS = [not_a_server_error, status_code_conformance]
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class Fuzzed:
    service: Service
    schema: Any
    #: the seeded patient (patient links are made for them)
    patient: int
    #: ids of the seeded users: their accounts are never changed (their tokens drive the run)
    protected_users: frozenset[int]
    #: ids of the seeded users' API tokens: never revoked (they drive the run)
    protected_tokens: frozenset[int] = frozenset()


def _seed_records(service: Service) -> int:
    """One record of every kind, through the API as the seeded users."""
    client = service.client

    def created(url: str, body: dict[str, Any], role: Role) -> int:
        response = client.post(url, json=body, headers=service.headers(role))
        assert response.status_code == 201, (url, response.text)
        return int(response.json()["id"])

    patient = created(
        "/api/patients",
        {"given_name": "Fuzz", "family_name": "Synthetic", "birth_date": "1980-02-03"},
        Role.front_desk,
    )
    provider = created(
        "/api/providers",
        {"name": "Fuzz PT", "profession": "pt", "licence_state": "CO", "licence_number": "F-1"},
        Role.admin,
    )
    # a screening through the API (an empty Bundle: nothing fires, so it is not
    # not-eligible and a session may follow) and a consent witnessed by the clinician
    screened = client.post(
        f"/api/patients/{patient}/screenings",
        json={"resourceType": "Bundle", "type": "collection", "entry": []},
        headers=service.headers(Role.front_desk),
    )
    assert screened.status_code == 201, screened.text
    created(
        f"/api/patients/{patient}/consents",
        {
            "language": "en",
            "typed_name": "Fuzz Synthetic",
            "signature_png": base64.b64encode(signature_png()).decode(),
            "signer_role": "patient",
            "signer_name": "Fuzz Synthetic",
        },
        Role.clinician,
    )
    if screened.json()["decision"] != "not-eligible":
        session = created(
            f"/api/patients/{patient}/sessions", session_body(provider), Role.clinician
        )
        created(
            f"/api/patients/{patient}/adverse-events",
            {
                "event_type": "risk.bruising",
                "severity": "mild",
                "serious": False,
                "outcome": "resolving",
                "onset_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "session_id": session,
            },
            Role.clinician,
        )
    created(f"/api/patients/{patient}/check-ins", {"symptoms": []}, Role.front_desk)
    created(f"/api/patients/{patient}/links", {"purpose": "check-in"}, Role.front_desk)
    return patient


@pytest.fixture(scope="module")
def fuzzed(module_database_url: str, valuesets_dir: Path) -> Iterator[Fuzzed]:
    service = make_service(settings_for(module_database_url, valuesets_dir))
    app, runtime, users = service.app, service.runtime, service.users
    try:
        patient = _seed_records(service)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        with runtime.db.read() as session:
            seeded_tokens = frozenset(session.scalars(select(AuthSession.id)).all())
        yield Fuzzed(
            service,
            schema,
            patient,
            frozenset(user.id for user in users.values()),
            seeded_tokens,
        )
    finally:
        asgi.shutdown_lifespans()  # the in-process client started the app's lifespan
        service.close()


def _headers(fuzzed: Fuzzed, role: Role, case: OpenApiCase) -> dict[str, str]:
    """Bearer headers for ``role``; a fresh token for logging out (it ends the token), and
    a current ``If-Match`` for updates of an existing record."""
    service = fuzzed.service
    token = service.tokens[role]
    if (case.method.upper(), case.path) == ("POST", "/api/auth/logout"):
        token, _ = mint_api_token(service.runtime, service.actor(role), days=1)
    headers = {"authorization": f"Bearer {token}"}
    source = ETAG_SOURCE.get((case.method.upper(), case.path))
    if source is not None:
        params = case.path_parameters or {}
        if case.path == "/api/users/{user_id}" and params.get("user_id") in fuzzed.protected_users:
            return headers  # never edit the accounts whose tokens drive the run
        try:
            url = source.format(**params)
        except (KeyError, IndexError, ValueError):  # a negative case may lack the id
            return headers
        read = service.client.get(url, headers=service.headers(Role.admin))
        if read.status_code == 200 and "etag" in read.headers:
            headers["if-match"] = read.headers["etag"]
    return headers


def _fresh_token_id(fuzzed: Fuzzed, role: Role) -> int:
    """The id of a new API token of the seeded user with ``role``."""
    service = fuzzed.service
    mint_api_token(service.runtime, service.actor(role), days=1)
    user_id = service.users[role].id
    with service.runtime.db.read() as session:
        newest = session.scalar(
            select(func.max(AuthSession.id)).where(AuthSession.user_id == user_id)
        )
    assert newest is not None
    return int(newest)


def _link(fuzzed: Fuzzed, purpose: str) -> str:
    """A fresh link of ``purpose`` for the seeded patient (intake and consent are single-use)."""
    service = fuzzed.service
    response = service.client.post(
        f"/api/patients/{fuzzed.patient}/links",
        json={"purpose": purpose},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def _fuzz(fuzzed: Fuzzed, role: Role, operation: OpenApiOperation) -> str | None:
    """Fuzz one operation as ``role``; the failure report, or ``None`` when all passed."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @SETTINGS
    def run(case: OpenApiCase) -> None:
        purpose = LINK_PURPOSE.get(operation.path)
        if purpose is not None and case.meta is not None and case.meta.generation.mode.is_positive:
            # a generated token never opens anything: valid cases get a real, fresh link
            # of the route's purpose, so the patient routes' bodies are fuzzed too
            case.path_parameters = {**(case.path_parameters or {}), "token": _link(fuzzed, purpose)}
        if (case.method.upper(), operation.path) == ("DELETE", "/api/auth/tokens/{token_id}"):
            params = case.path_parameters or {}
            if params.get("token_id") in fuzzed.protected_tokens:
                # never revoke a token that drives the run: revoke a fresh one instead
                case.path_parameters = {**params, "token_id": _fresh_token_id(fuzzed, role)}
        response = case.call(headers=_headers(fuzzed, role, case))
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Exception as exc:  # every failing operation is reported, not just the first
        return f"{operation.method.upper()} {operation.path} as {role}:\n{exc}"
    return None


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_no_server_error_and_no_undocumented_status(fuzzed: Fuzzed, role: Role) -> None:
    failures = []
    for result in fuzzed.schema.get_all_operations():
        failure = _fuzz(fuzzed, role, result.ok())
        if failure is not None:
            failures.append(failure)
    assert not failures, "\n\n".join(failures)


def test_the_document_has_every_route(fuzzed: Fuzzed) -> None:
    """The fuzz run covers the whole API: every route is an operation of the document
    (the HTML pages are left out of it on purpose: they answer HTML forms, not JSON)."""
    operations = set()
    for result in fuzzed.schema.get_all_operations():
        operation = result.ok()
        operations.add((operation.method.upper(), operation.path))
    routes = {
        (method, route.path)
        for route in api_routes(fuzzed.service.app.router.routes)
        if route.include_in_schema
        for method in methods(route)
    }
    assert operations == routes


#: requests with a NUL character (U+0000) in a text field or filter. The fuzz run found the
#: first one (PostgreSQL cannot store or compare NUL in text: the driver raises DataError);
#: these keep it found whatever the generator draws.
NUL = "Nul\u0000Synthetic"
NUL_REQUESTS: list[tuple[str, str, Role | None, dict[str, Any]]] = [
    ("POST", "/api/patients", Role.front_desk, {"json": {"given_name": NUL, "family_name": "X"}}),
    ("GET", "/api/patients", Role.front_desk, {"params": {"q": NUL}}),
    ("PATCH", "/api/patients/{patient}", Role.front_desk, {"json": {"address": NUL}}),
    ("POST", "/api/auth/login", None, {"json": {"email": NUL, "password": "not the password"}}),
    ("GET", "/api/audit", Role.admin, {"params": {"actor": NUL}}),
    (
        "POST",
        "/api/providers",
        Role.admin,
        {"json": {"name": NUL, "profession": "pt", "licence_state": "CO", "licence_number": "N"}},
    ),
    ("PUT", "/api/clinic", Role.admin, {"json": {"name": NUL}}),
]


@pytest.mark.parametrize(
    ("method", "path", "role", "request_kwargs"),
    NUL_REQUESTS,
    ids=[f"{method} {path}" for method, path, _, _ in NUL_REQUESTS],
)
def test_a_nul_character_is_never_a_server_error(
    fuzzed: Fuzzed,
    method: str,
    path: str,
    role: Role | None,
    request_kwargs: dict[str, Any],
) -> None:
    service = fuzzed.service
    url = path.format(patient=fuzzed.patient)
    headers = service.headers(role) if role is not None else {}
    source = {"PATCH": url, "PUT": url}.get(method)
    if source is not None:
        headers["if-match"] = service.client.get(source, headers=headers).headers["etag"]
    response = service.client.request(method, url, headers=headers, **request_kwargs)
    assert response.status_code == 422, f"{method} {url}: {response.status_code} {response.text}"
    error = response.json()["error"]
    assert (error["code"], "NUL" in error["message"]) == ("invalid-input", True), error


@pytest.mark.parametrize("field", ["given_name", "family_name", "preferred_language"])
def test_a_null_required_field_in_a_patch_is_never_a_server_error(
    fuzzed: Fuzzed, field: str
) -> None:
    """Found by the fuzz run: ``null`` for a field the patient must have reached the
    database's NOT NULL constraint (IntegrityError) instead of being refused or ignored."""
    service = fuzzed.service
    url = f"/api/patients/{fuzzed.patient}"
    headers = service.headers(Role.front_desk)
    headers["if-match"] = service.client.get(url, headers=headers).headers["etag"]
    response = service.client.patch(url, json={field: None}, headers=headers)
    assert response.status_code == 422, f"PATCH {url} {{{field!r}: null}}: {response.text}"
    assert f"{field} cannot be removed" in response.json()["error"]["message"]
    assert service.client.get(url, headers=headers).json()[field] is not None
