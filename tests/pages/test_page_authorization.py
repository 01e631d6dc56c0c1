"""The authorization matrix of the HTML pages (the API's is
``tests/service/test_authorization.py``), on SQLite and on PostgreSQL.

``EXPECTED`` is written by hand from the role descriptions (``security/roles.py``): for
every page route, which roles may use it, or that it is public, or that a patient link
opens it. Every staff route x (admin, clinician, front desk, anonymous) is called on a
clinic with real records, the way a browser would (session cookie, the form's CSRF
token):

* anonymous gets the sign-in page (303 to ``/app/login``), never the page;
* an allowed role is not refused (no 401, 403 or sign-in redirect; a form may still be
  refused for its content: 422, 409);
* a denied role gets the 403 page, audited once as ``forbidden``;
* a patient-link page opens with its own link, and not with a tampered token or a link
  of another purpose (404).

A new page route without an entry here fails ``test_the_table_covers_every_page_route``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from needlewise.security.roles import Role
from needlewise.services import links
from needlewise.web.openapi import api_routes
from pages.clinic.helpers import add_check_in
from support.audit import entries_after, last_id
from support.http import ApiClient
from support.outbound import add_message
from support.routes import CDS_ROUTES, methods
from support.service import PASSWORD, Service, make_service, settings_for
from support.treatment import add_consent, add_screening, make_patient

A, C, F = Role.admin, Role.clinician, Role.front_desk
ANONYMOUS = "anonymous"
CALLERS: tuple[Role | str, ...] = (A, C, F, ANONYMOUS)
PUBLIC = "public"
LINK = "patient-link"
STAFF = frozenset({A, C, F})
ADMIN = frozenset({A})
CLINICIAN = frozenset({C})
CLINICAL = frozenset({A, C})

Expectation = frozenset[Role] | str

EXPECTED: dict[tuple[str, str], Expectation] = {
    # public: the home page, signing in, education
    ("GET", "/"): PUBLIC,
    ("GET", "/app/login"): PUBLIC,
    ("POST", "/app/login"): PUBLIC,
    ("GET", "/learn"): PUBLIC,
    ("GET", "/learn/who-can-do-it"): PUBLIC,
    ("GET", "/learn/aftercare"): PUBLIC,
    ("GET", "/learn/aftercare.pdf"): PUBLIC,
    ("GET", "/learn/{topic}"): PUBLIC,
    # any staff member: signing out, the emergency plan, the today list, charts
    ("POST", "/app/logout"): STAFF,
    ("GET", "/app/emergency-plan"): STAFF,
    ("GET", "/app"): STAFF,
    ("POST", "/app"): STAFF,
    ("GET", "/app/queue"): STAFF,
    ("GET", "/app/patients/{patient_id}"): STAFF,
    ("GET", "/app/patients/{patient_id}/aftercare.pdf"): STAFF,
    ("GET", "/app/consents/{consent_id}.pdf"): STAFF,
    # the clinic's safety record (aggregate rates): clinicians and admins
    ("GET", "/app/safety"): CLINICAL,
    ("GET", "/app/safety.csv"): CLINICAL,
    ("GET", "/app/safety.pdf"): CLINICAL,
    # the front desk's work, which everyone may do
    ("GET", "/app/patients/new"): STAFF,
    ("POST", "/app/patients/new"): STAFF,
    ("GET", "/app/patients/{patient_id}/links"): STAFF,
    ("POST", "/app/patients/{patient_id}/links"): STAFF,
    ("POST", "/app/patients/{patient_id}/links/{link_id}/revoke"): STAFF,
    # clinical acts: clinicians only
    ("POST", "/app/check-ins/{check_in_id}/acknowledge"): CLINICIAN,
    ("GET", "/app/patients/{patient_id}/sessions/new"): CLINICIAN,
    ("POST", "/app/patients/{patient_id}/sessions/preview"): CLINICIAN,
    ("POST", "/app/patients/{patient_id}/sessions"): CLINICIAN,
    ("POST", "/app/patients/{patient_id}/outcomes"): CLINICIAN,
    # the clinic's administration: admins only
    ("GET", "/app/admin"): ADMIN,
    ("GET", "/app/admin/users"): ADMIN,
    ("POST", "/app/admin/users"): ADMIN,
    ("POST", "/app/admin/users/{user_id}"): ADMIN,
    ("GET", "/app/admin/providers"): ADMIN,
    ("POST", "/app/admin/providers"): ADMIN,
    ("GET", "/app/admin/clinic"): ADMIN,
    ("POST", "/app/admin/clinic"): ADMIN,
    ("GET", "/app/admin/audit"): ADMIN,
    ("GET", "/app/admin/mail"): ADMIN,
    ("GET", "/app/outbox"): STAFF,
    ("POST", "/app/outbox/{message_id}/handled"): STAFF,
    # a patient's own link
    ("GET", "/p/{token}"): LINK,
    ("GET", "/p/{token}/intake"): LINK,
    ("POST", "/p/{token}/intake"): LINK,
    ("GET", "/p/{token}/consent"): LINK,
    ("POST", "/p/{token}/consent"): LINK,
    ("GET", "/p/{token}/consent/copy.pdf"): LINK,
    ("GET", "/p/{token}/check-in"): LINK,
    ("POST", "/p/{token}/check-in"): LINK,
    ("GET", "/p/{token}/stop"): LINK,
    ("POST", "/p/{token}/stop"): LINK,
    ("GET", "/p/{token}/aftercare.pdf"): LINK,
}

#: the link purpose that opens a patient-link page (the landing and the sheet: any)
PURPOSE = {"intake": "intake", "consent": "consent", "check-in": "check-in"}


@dataclass
class World:
    service: Service
    ids: dict[str, int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One clinic with a patient, a screening, a consent, a check-in and a link (SQLite:
    the routes are tested here, the storage by the pages' own tests on both databases)."""
    folder = tmp_path_factory.mktemp("page-authorization")
    url = f"sqlite:///{folder / 'db.sqlite'}"
    with make_service(settings_for(url)) as service:
        patient = make_patient(service)
        add_screening(service, patient)
        consent = add_consent(service, patient)
        check_in = add_check_in(service, patient, "call-provider")
        link = links.create_link(
            service.runtime, service.actor(F), patient, links.LinkIn(purpose="check-in")
        ).id
        ids = {
            "patient_id": patient,
            "consent_id": consent,
            "check_in_id": check_in,
            "link_id": link,
            "user_id": service.users[F].id,
            "message_id": add_message(
                service.runtime, service.clinic_id, patient, link, channel="outbox"
            ),
        }
        yield World(service, ids)


def page_routes(service: Service) -> set[tuple[str, str]]:
    """Every route left out of the API's document except the docs and the CDS Hooks
    door (``CDS_ROUTES``: JWT-protected, walked in ``tests/security/test_cds_jwt.py``;
    ``tests/web/test_cds_hooks_door.py`` checks the app has exactly those)."""
    found = {
        (method, route.path)
        for route in api_routes(service.app.router.routes)
        if not route.include_in_schema
        and route.path not in ("/docs", "/openapi.json")
        # the FHIR facade is not in the OpenAPI document either: tests/fhir_facade/test_routes.py
        and not route.path.startswith("/fhir")
        for method in methods(route)
    }
    assert found >= CDS_ROUTES, "the CDS Hooks routes moved: update support.routes.CDS_ROUTES"
    return found - CDS_ROUTES


def test_the_table_covers_every_page_route(world: World) -> None:
    routes = page_routes(world.service)
    assert sorted(routes - set(EXPECTED)) == [], "page routes missing from EXPECTED"
    assert sorted(set(EXPECTED) - routes) == [], "EXPECTED names routes the app lacks"


def path_of(template: str, ids: dict[str, int]) -> str:
    path = template.replace("{topic}", "dry-needling")
    return re.sub(r"\{([a-z_]+)\}", lambda m: str(ids[m.group(1)]), path)


def signed_in(world: World, role: Role) -> tuple[ApiClient, str]:
    client = ApiClient(world.service.app)
    login = client.post(
        "/api/auth/login", json={"email": world.service.users[role].email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    return client, str(login.json()["csrf_token"])


STAFF_ROUTES = sorted(route for route, who in EXPECTED.items() if isinstance(who, frozenset))


@pytest.mark.parametrize("caller", CALLERS, ids=str)
@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_staff_pages(world: World, route: tuple[str, str], caller: Role | str) -> None:
    method, template = route
    allowed = EXPECTED[route]
    assert isinstance(allowed, frozenset)
    path = path_of(template, world.ids)
    if caller == ANONYMOUS:
        client = ApiClient(world.service.app)
        answer = client.request(method, path, data={} if method == "POST" else None)
        assert answer.status_code == 303, (route, answer.status_code)
        assert answer.headers["location"].startswith("/app/login"), route
        client.close()
        return
    assert isinstance(caller, Role)
    client, csrf = signed_in(world, caller)
    before = last_id(world.service)
    data = {"csrf_token": csrf} if method == "POST" else None
    answer = client.request(method, path, data=data)
    if caller in allowed:
        assert answer.status_code not in (401, 403), (route, caller, answer.status_code)
        # sent to sign in would be a refusal (signing out goes there on purpose)
        assert not answer.headers.get("location", "").startswith("/app/login?next"), route
        assert answer.status_code < 500, (route, caller)
    else:
        assert answer.status_code == 403, (route, caller, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), route
        refusals = [e for e in entries_after(world.service, before) if e["outcome"] == "denied"]
        assert [e["reason"] for e in refusals] == ["forbidden"], (route, caller, refusals)
    client.close()


LINK_ROUTES = sorted(route for route, who in EXPECTED.items() if who == LINK)


@pytest.mark.parametrize("route", LINK_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_patient_link_pages(world: World, route: tuple[str, str]) -> None:
    method, template = route
    service = world.service
    patient = world.ids["patient_id"]
    step = template.split("/")[3] if template.count("/") >= 3 else ""
    purpose = PURPOSE.get(step, "check-in")
    other = "intake" if purpose != "intake" else "consent"
    own = links.create_link(
        service.runtime, service.actor(F), patient, links.LinkIn(purpose=purpose)
    )
    wrong = links.create_link(
        service.runtime, service.actor(F), patient, links.LinkIn(purpose=other)
    )
    client = ApiClient(service.app)
    if method == "GET":
        answer = client.get(template.replace("{token}", own.token))
        expected_ok = 404 if template.endswith("copy.pdf") else 200  # nothing signed yet
        assert answer.status_code == expected_ok, (route, answer.status_code)
    tampered = own.token[:-3] + ("aaa" if not own.token.endswith("aaa") else "bbb")
    for token in (tampered, wrong.token if step in PURPOSE else None):
        if token is None:
            continue
        answer = client.request(method, template.replace("{token}", token), data={})
        assert answer.status_code == 404, (route, token == tampered, answer.status_code)
    client.close()


PUBLIC_ROUTES = sorted(route for route, who in EXPECTED.items() if who == PUBLIC)


@pytest.mark.parametrize("route", [r for r in PUBLIC_ROUTES if r[0] == "GET"], ids=str)
def test_public_pages_need_no_login(world: World, route: tuple[str, str]) -> None:
    client = ApiClient(world.service.app)
    answer = client.get(path_of(route[1], world.ids))
    assert answer.status_code == 200, (route, answer.status_code)
    client.close()
