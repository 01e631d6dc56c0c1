"""The authorization matrix (issue 3, item 7), on SQLite and on PostgreSQL.

``EXPECTED`` is written by hand from the role descriptions (``security/roles.py``) and the
issue, not read from ``PERMISSIONS``: it says, for every route, which roles may use it, or
that it is public, or that only a patient link opens it. Every route x (admin, clinician,
front desk, anonymous) is called on a clinic with real records:

* anonymous on a staff route gets 401; an allowed role is not refused (neither 401 nor
  403; the body may still be refused for other reasons); a denied role gets 403
  ``forbidden`` — and every refusal leaves the stored data exactly as it was;
* a cookie session needs ``X-CSRF-Token`` on unsafe methods (a bearer token does not);
* a patient link opens only its own patient, only for its purpose, and never a staff
  route; a tampered token or a staff token opens no patient route;
* every refusal leaves exactly one audit entry (issue 9): outcome ``denied``, the reason
  (``unauthenticated``, ``unknown-credential``, ``forbidden``, ``csrf``,
  ``invalid-link``, ``wrong-purpose``), the caller (``anonymous`` or the user or link)
  and its clinic, and no patient id the caller did not name in the URL.

One app per backend is shared by the whole module (tests that change state make their own
records), so the matrix stays fast.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from needlewise.persistence.models import AuditEntry, Base, CheckIn, Screening
from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.api_tokens import mint_api_token
from needlewise.web.openapi import api_routes
from support.http import ApiClient
from support.routes import methods
from support.service import PASSWORD, Service, make_service, settings_for
from support.treatment import intake, session_body, signature_png

A, C, F = Role.admin, Role.clinician, Role.front_desk
ANONYMOUS = "anonymous"
CALLERS: tuple[Role | str, ...] = (A, C, F, ANONYMOUS)

PUBLIC = "public"
LINK = "patient-link"
STAFF = frozenset({A, C, F})
ADMIN = frozenset({A})
CLINICIAN = frozenset({C})
CLINICAL_READERS = frozenset({A, C})
IMPORTERS = frozenset({A, C})

Expectation = frozenset[Role] | str

# ------------------------------------------------------------------ the expectation table
#
# admin: runs the clinic's accounts, providers and settings and reads the audit log; may
#   read sessions and adverse events but never records them; does the front desk's
#   administrative work (registering patients, links, intake, phone check-ins).
# clinician: the clinical work (sessions, adverse events, overrides, acknowledging
#   check-ins, witnessing consents) and everything the front desk does.
# front desk: registers patients, sends links, records intake/screenings and phone
#   check-ins, reads what scheduling needs (screenings, consents, check-ins); cannot sign
#   consents, read sessions or adverse events, manage users or read the audit log.
# Taking a consent is clinical (the risks are explained and the signing witnessed), so
# it is the clinicians' alone: neither the front desk nor the admin signs or withdraws one.

EXPECTED: dict[tuple[str, str], Expectation] = {
    # public: no patient data
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/api/knowledge"): PUBLIC,
    ("GET", "/api/questionnaires/{which}"): PUBLIC,
    ("GET", "/api/scope/{state}"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    # stateless tools: any staff login
    ("POST", "/api/screen"): STAFF,
    ("POST", "/api/triage"): STAFF,
    ("POST", "/api/code-session"): STAFF,
    # one's own login
    ("POST", "/api/auth/logout"): STAFF,
    ("GET", "/api/auth/me"): STAFF,
    ("POST", "/api/auth/tokens"): STAFF,
    ("GET", "/api/auth/tokens"): STAFF,
    ("DELETE", "/api/auth/tokens/{token_id}"): STAFF,
    ("POST", "/api/auth/password"): STAFF,
    # the clinic, accounts and providers: admin manages, everyone reads the clinic/providers
    ("GET", "/api/clinic"): STAFF,
    ("PUT", "/api/clinic"): ADMIN,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("GET", "/api/users/{user_id}"): ADMIN,
    ("PATCH", "/api/users/{user_id}"): ADMIN,
    ("GET", "/api/providers"): STAFF,
    ("POST", "/api/providers"): ADMIN,
    ("GET", "/api/providers/{provider_id}"): STAFF,
    ("GET", "/api/providers/{provider_id}/scope"): STAFF,
    ("PATCH", "/api/providers/{provider_id}"): ADMIN,
    # patients: the front desk registers them
    ("GET", "/api/patients"): STAFF,
    ("POST", "/api/patients"): STAFF,
    ("GET", "/api/patients/{patient_id}"): STAFF,
    ("PATCH", "/api/patients/{patient_id}"): STAFF,
    # screenings: the front desk records intake and reads them
    ("POST", "/api/patients/{patient_id}/screenings"): STAFF,
    ("GET", "/api/screenings"): STAFF,
    ("GET", "/api/screenings/{screening_id}"): STAFF,
    ("GET", "/api/patients/{patient_id}/decisive-screening"): STAFF,
    # consents: everyone reads them (scheduling); only clinicians take or withdraw one
    ("GET", "/api/consents/text"): STAFF,
    ("POST", "/api/patients/{patient_id}/consents"): CLINICIAN,
    ("GET", "/api/consents"): STAFF,
    ("GET", "/api/consents/{consent_id}"): STAFF,
    ("POST", "/api/consents/{consent_id}/withdraw"): CLINICIAN,
    ("GET", "/api/consents/{consent_id}/copy"): STAFF,
    # sessions and adverse events: clinicians record, admin may read, front desk neither
    ("POST", "/api/patients/{patient_id}/sessions"): CLINICIAN,
    ("GET", "/api/sessions"): CLINICAL_READERS,
    ("GET", "/api/sessions/{session_id}"): CLINICAL_READERS,
    ("PATCH", "/api/sessions/{session_id}"): CLINICIAN,
    # what a session schedules, and outcome scores: read and recorded like sessions
    ("GET", "/api/sessions/{session_id}/check-in-schedule"): CLINICAL_READERS,
    ("POST", "/api/patients/{patient_id}/outcomes"): CLINICIAN,
    ("GET", "/api/patients/{patient_id}/outcomes"): CLINICAL_READERS,
    # a patient's opt-out of check-in messages: whoever may edit the patient
    ("POST", "/api/patients/{patient_id}/check-in-opt-out"): STAFF,
    ("DELETE", "/api/patients/{patient_id}/check-in-opt-out"): STAFF,
    ("POST", "/api/patients/{patient_id}/adverse-events"): CLINICIAN,
    ("GET", "/api/adverse-events"): CLINICAL_READERS,
    ("GET", "/api/adverse-events/{event_id}"): CLINICAL_READERS,
    ("PATCH", "/api/adverse-events/{event_id}"): CLINICIAN,
    # check-ins: anyone records (phone) and reads; clinicians acknowledge
    ("POST", "/api/patients/{patient_id}/check-ins"): STAFF,
    ("GET", "/api/check-ins"): STAFF,
    ("GET", "/api/check-ins/{check_in_id}"): STAFF,
    ("POST", "/api/check-ins/{check_in_id}/acknowledge"): CLINICIAN,
    # patient links: the front desk sends (and cancels) them
    ("POST", "/api/patients/{patient_id}/links"): STAFF,
    ("POST", "/api/links/{link_id}/revoke"): STAFF,
    # the patient's side: the link is the key
    ("GET", "/api/p/{token}"): LINK,
    ("GET", "/api/p/{token}/intake-questionnaire"): LINK,
    ("POST", "/api/p/{token}/intake"): LINK,
    ("GET", "/api/p/{token}/consent-text"): LINK,
    ("POST", "/api/p/{token}/consent"): LINK,
    ("GET", "/api/p/{token}/check-in-questionnaire"): LINK,
    ("POST", "/api/p/{token}/check-in"): LINK,
    # the audit log: admin only
    ("GET", "/api/audit"): ADMIN,
    # the FHIR facade's writes: importing an EHR's records changes what screening
    # decides (clinicians and admins); creating a patient and sending intake answers are
    # the JSON API's patients:write and screenings:write
    ("POST", "/fhir"): IMPORTERS,
    ("POST", "/fhir/Patient"): STAFF,
    ("POST", "/fhir/QuestionnaireResponse"): STAFF,
}

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
PURPOSES = ("intake", "consent", "check-in")
DOCS_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


# ------------------------------------------------------------------ synthetic documents


def signing(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "language": "en",
        "typed_name": name,
        "signature_png": base64.b64encode(signature_png()).decode(),
        "signer_name": name,
        **fields,
    }


def adverse_event() -> dict[str, Any]:
    return {
        "event_type": "risk.bruising",
        "severity": "mild",
        "serious": False,
        "outcome": "resolving",
        "onset_at": (datetime.now(UTC) - timedelta(hours=20)).isoformat(),
        "description": "Synthetic bruise at the needling site",
    }


CHECK_IN = {"symptoms": [], "hours_since_treatment": 20.0}


def fhir_patient(unique: str) -> dict[str, Any]:
    """A FHIR Patient with an identifier of its own."""
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:test:mrn", "value": f"MRN-{unique}"}],
        "name": [{"family": "Synthetic", "given": ["Fhir"]}],
    }


def error_code(response: httpx.Response) -> str:
    """Our error code, from the JSON API's error object or a FHIR OperationOutcome."""
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        return str(body["issue"][0]["details"]["coding"][0]["code"])
    return str(body["error"]["code"])


# ------------------------------------------------------------------ the clinic


@dataclass
class World:
    """A seeded clinic on one backend with one record of every kind."""

    service: Service
    patient_a: int
    patient_b: int
    provider: int
    screening: int
    consent: int
    session: int
    event: int
    check_in: int
    spare_user: int
    #: (patient, purpose) -> link token
    links: dict[tuple[str, str], str] = field(default_factory=dict)
    link_ids: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def client(self) -> ApiClient:
        return self.service.client

    def headers(self, caller: Role | str) -> dict[str, str]:
        return {} if caller == ANONYMOUS else self.service.headers(Role(caller))

    def created(self, url: str, body: Any, role: Role) -> dict[str, Any]:
        return _created(self.service, url, body, role)

    def new_consent(self, patient: int) -> int:
        out = self.created(
            f"/api/patients/{patient}/consents", signing("Bo Synthetic", signer_role="patient"), C
        )
        return int(out["id"])

    def new_check_in(self, patient: int) -> int:
        return int(self.created(f"/api/patients/{patient}/check-ins", CHECK_IN, F)["id"])

    def new_link(self, patient: int, purpose: str) -> dict[str, Any]:
        return self.created(f"/api/patients/{patient}/links", {"purpose": purpose}, F)

    def fresh_token(self, role: Role) -> str:
        token, _ = mint_api_token(self.service.runtime, self.service.actor(role), days=1)
        return token

    def fresh_token_id(self, role: Role) -> int:
        """The id of a new API token of the seeded user with ``role``."""
        token = self.fresh_token(role)
        listed = self.client.get("/api/auth/tokens", headers={"authorization": f"Bearer {token}"})
        assert listed.status_code == 200, listed.text
        return int(next(t["id"] for t in listed.json()["items"] if t["current"]))

    def etag(self, url: str, reader: Role) -> str:
        response = self.client.get(url, headers=self.headers(reader))
        assert response.status_code == 200, (url, response.status_code, response.text)
        return response.headers["etag"]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every stored row except the audit log (which may record the attempt)."""
        rows: dict[str, list[tuple[Any, ...]]] = {}
        with self.service.runtime.db.read() as session:
            for table in Base.metadata.sorted_tables:
                if table.name == "audit_log":
                    continue
                key = list(table.primary_key.columns)
                result = session.execute(select(table).order_by(*key))
                rows[table.name] = [tuple(row) for row in result]
        return rows

    def audit_mark(self) -> int:
        """The newest audit entry's id (entries after it are the call's)."""
        with self.service.runtime.db.read() as session:
            return session.scalar(select(func.max(AuditEntry.id))) or 0

    def refusal(
        self,
        mark: int,
        *,
        actor: str,
        reason: str,
        clinic: int | None,
        named: tuple[int, ...] = (),
        where: str = "",
    ) -> AuditEntry:
        """The one audit entry written since ``mark``: a denial by ``actor`` for
        ``reason`` in ``clinic``, naming no patient but one of ``named`` (ids in the URL)."""
        with self.service.runtime.db.read() as session:
            rows = session.scalars(select(AuditEntry).where(AuditEntry.id > mark)).all()
        assert len(rows) == 1, (where, [(r.actor, r.action, r.reason) for r in rows])
        entry = rows[0]
        assert (entry.actor, entry.outcome, entry.reason) == (actor, "denied", reason), where
        assert entry.clinic_id == clinic, where
        assert entry.patient_id is None or entry.patient_id in named, where
        assert entry.resource_id is None or int(entry.resource_id) in named, where
        return entry

    def user_ref(self, caller: Role | str) -> str:
        return "anonymous" if caller == ANONYMOUS else f"user:{self.service.users[Role(caller)].id}"

    def count(self, model: type[CheckIn] | type[Screening], patient: int) -> int:
        with self.service.runtime.db.read() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(model).where(model.patient_id == patient)
                )
                or 0
            )


@pytest.fixture(scope="module")
def world(module_database_url: str, valuesets_dir: Path) -> Iterator[World]:
    with make_service(settings_for(module_database_url, valuesets_dir)) as service:
        yield _build_world(service)


def _created(service: Service, url: str, body: Any, role: Role) -> dict[str, Any]:
    """POST ``body`` as ``role``; the created record (asserting 201)."""
    response = service.client.post(url, json=body, headers=service.headers(role))
    assert response.status_code == 201, (url, response.status_code, response.text)
    out: dict[str, Any] = response.json()
    return out


def _build_world(service: Service) -> World:
    kb = service.runtime.kb

    def created(url: str, body: Any, role: Role) -> dict[str, Any]:
        return _created(service, url, body, role)

    def patient(given: str) -> int:
        body = {
            "given_name": given,
            "family_name": f"{given}son",
            "birth_date": "1985-03-04",
            "preferred_language": "en",
        }
        return int(created("/api/patients", body, F)["id"])

    def consent(patient_id: int) -> int:
        body = signing(f"Patient {patient_id}", signer_role="patient")
        return int(created(f"/api/patients/{patient_id}/consents", body, C)["id"])

    a, b = patient("Avery"), patient("Blake")
    provider = created(
        "/api/providers",
        {
            "name": "Synthetic PT CO",
            "profession": "pt",
            "licence_state": "CO",
            "licence_number": "SYN-CO-1",
            "training_hours": 54,
            "training_date": "2020-05-01",
        },
        A,
    )["id"]
    screening = created(f"/api/patients/{a}/screenings", intake(kb), F)
    assert screening["decision"] != "not-eligible", screening
    consent_a = consent(a)
    consent(b)
    session = created(f"/api/patients/{a}/sessions", session_body(provider), C)["id"]
    event = created(
        f"/api/patients/{a}/adverse-events", {**adverse_event(), "session_id": session}, C
    )["id"]
    check_in = created(f"/api/patients/{a}/check-ins", CHECK_IN, F)["id"]
    spare = created(
        "/api/users",
        {
            "email": "spare@clinic.example",
            "name": "Spare Synthetic",
            "role": "front-desk",
            "password": PASSWORD,
        },
        A,
    )["id"]
    world = World(
        service=service,
        patient_a=a,
        patient_b=b,
        provider=provider,
        screening=screening["id"],
        consent=consent_a,
        session=session,
        event=event,
        check_in=check_in,
        spare_user=spare,
    )
    for who, patient_id in (("A", a), ("B", b)):
        for purpose in PURPOSES if who == "A" else ("check-in",):
            body: dict[str, Any] = {"purpose": purpose}
            if purpose == "check-in" and who == "A":
                body["session_id"] = session
            out = world.created(f"/api/patients/{patient_id}/links", body, F)
            world.links[who, purpose] = out["token"]
            world.link_ids[who, purpose] = out["id"]
    return world


# ------------------------------------------------------------------ building a request


@dataclass
class Call:
    method: str
    url: str
    headers: dict[str, str]
    json: Any = None
    named: tuple[int, ...] = ()  # the record ids in the URL

    def send(self, world: World) -> httpx.Response:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if self.json is not None:
            kwargs["json"] = self.json
        return world.client.request(self.method, self.url, **kwargs)


def _bodies(world: World, caller: Role | str) -> dict[tuple[str, str], Callable[[], Any]]:
    """A minimal valid body for every route that takes one."""
    kb = world.service.runtime.kb
    email = caller if caller != ANONYMOUS else F
    unique = uuid.uuid4().hex[:10]
    return {
        ("POST", "/api/auth/login"): lambda: {
            "email": f"{email}@clinic.example",
            "password": PASSWORD,
        },
        ("POST", "/api/auth/tokens"): lambda: {"days": 1},
        # a wrong current password (422): the seeded users keep theirs
        ("POST", "/api/auth/password"): lambda: {
            "current_password": "not the current password",
            "new_password": "granite otter lantern quietly",
        },
        ("POST", "/api/screen"): lambda: intake(kb),
        ("POST", "/api/triage"): lambda: CHECK_IN,
        ("POST", "/api/code-session"): lambda: {
            "muscles": [{"muscle": "upper-trapezius", "laterality": "left"}]
        },
        ("PUT", "/api/clinic"): lambda: {
            "name": "Synthetic Test Clinic",
            "phones": ["555-0100"],
            "languages": ["en", "es"],
        },
        ("POST", "/api/users"): lambda: {
            "email": f"new-{unique}@clinic.example",
            "name": "New Synthetic",
            "role": "front-desk",
            "password": PASSWORD,
        },
        ("PATCH", "/api/users/{user_id}"): lambda: {"name": f"Spare {unique}"},
        ("POST", "/api/providers"): lambda: {
            "name": f"Synthetic PT {unique}",
            "profession": "pt",
            "licence_state": "CO",
            "licence_number": f"SYN-{unique}",
        },
        ("PATCH", "/api/providers/{provider_id}"): lambda: {"training_hours": 60},
        ("POST", "/api/patients"): lambda: {
            "given_name": "Casey",
            "family_name": "Synthetic",
            "preferred_language": "en",
        },
        ("PATCH", "/api/patients/{patient_id}"): lambda: {"phone": "555-0199"},
        ("POST", "/api/patients/{patient_id}/screenings"): lambda: intake(kb),
        ("POST", "/api/patients/{patient_id}/consents"): lambda: signing(
            "Avery Averyson", signer_role="patient"
        ),
        ("POST", "/api/consents/{consent_id}/withdraw"): lambda: {"reason": "changed mind"},
        ("POST", "/api/patients/{patient_id}/sessions"): lambda: session_body(world.provider),
        ("PATCH", "/api/sessions/{session_id}"): lambda: {"notes": f"synthetic note {unique}"},
        ("POST", "/api/patients/{patient_id}/adverse-events"): lambda: {
            **adverse_event(),
            "session_id": world.session,
        },
        ("PATCH", "/api/adverse-events/{event_id}"): lambda: {"description": f"note {unique}"},
        ("POST", "/api/patients/{patient_id}/check-ins"): lambda: CHECK_IN,
        ("POST", "/api/patients/{patient_id}/links"): lambda: {"purpose": "check-in"},
        ("POST", "/api/p/{token}/intake"): lambda: intake(kb),
        ("POST", "/api/p/{token}/consent"): lambda: signing("Avery Averyson"),
        ("POST", "/api/p/{token}/check-in"): lambda: CHECK_IN,
        ("POST", "/fhir"): lambda: {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": fhir_patient(unique), "request": {"method": "POST"}}],
        },
        ("POST", "/fhir/Patient"): lambda: fhir_patient(unique),
        ("POST", "/fhir/QuestionnaireResponse"): lambda: {
            **intake(kb),
            "subject": {"reference": f"Patient/{world.patient_a}"},
        },
    }


#: where to read the ETag an update needs (url template, a role that may read it)
_ETAG_FROM: dict[tuple[str, str], tuple[str, Role]] = {
    ("PUT", "/api/clinic"): ("/api/clinic", A),
    ("PATCH", "/api/users/{user_id}"): ("/api/users/{user_id}", A),
    ("PATCH", "/api/providers/{provider_id}"): ("/api/providers/{provider_id}", A),
    ("PATCH", "/api/patients/{patient_id}"): ("/api/patients/{patient_id}", F),
    ("POST", "/api/consents/{consent_id}/withdraw"): ("/api/consents/{consent_id}", C),
    ("PATCH", "/api/sessions/{session_id}"): ("/api/sessions/{session_id}", C),
    ("PATCH", "/api/adverse-events/{event_id}"): ("/api/adverse-events/{event_id}", C),
    ("POST", "/api/check-ins/{check_in_id}/acknowledge"): ("/api/check-ins/{check_in_id}", C),
}


def build_call(world: World, method: str, template: str, caller: Role | str) -> Call:
    """The request for ``caller`` on this route, with real ids (fresh records for the
    routes that use one up), a valid body, and ``If-Match`` where an update needs it."""
    key = (method, template)
    values: dict[str, Any] = {
        "which": "intake",
        "state": "CO",
        "user_id": world.spare_user,
        "provider_id": world.provider,
        "patient_id": world.patient_a,
        "screening_id": world.screening,
        "consent_id": world.consent,
        "session_id": world.session,
        "event_id": world.event,
        "check_in_id": world.check_in,
    }
    # routes that change their record for good get a record of their own
    if key == ("POST", "/api/consents/{consent_id}/withdraw"):
        values["consent_id"] = world.new_consent(world.patient_b)
    if key == ("POST", "/api/check-ins/{check_in_id}/acknowledge"):
        values["check_in_id"] = world.new_check_in(world.patient_b)
    if key == ("DELETE", "/api/auth/tokens/{token_id}"):
        # one's own token (another user's is "not found"): a fresh one, it ends
        values["token_id"] = world.fresh_token_id(Role(caller) if caller != ANONYMOUS else F)
    if key == ("POST", "/api/links/{link_id}/revoke"):
        values["link_id"] = world.new_link(world.patient_b, "check-in")["id"]
    if template in LINK_PURPOSE:
        values["token"] = world.new_link(world.patient_a, LINK_PURPOSE[template])["token"]

    headers = world.headers(caller)
    if key == ("POST", "/api/auth/logout") and caller != ANONYMOUS:
        # logging out ends the token: use one minted for this call
        headers = {"authorization": f"Bearer {world.fresh_token(Role(caller))}"}
    if key in _ETAG_FROM:
        url, reader = _ETAG_FROM[key]
        headers = {**headers, "if-match": world.etag(url.format(**values), reader)}
    body = _bodies(world, caller).get(key)
    named = tuple(v for k, v in values.items() if k.endswith("_id") and "{" + k + "}" in template)
    return Call(method, template.format(**values), headers, body() if body else None, named)


# ------------------------------------------------------------------ the matrix


def test_the_table_covers_exactly_the_apps_routes(world: World) -> None:
    """A new route without an entry in ``EXPECTED`` (or a removed one) fails here. The
    HTML pages (not in the API's document) have their own matrix:
    ``tests/pages/test_page_authorization.py``; so has the CDS Hooks door (not in the
    document either; ``support.routes.CDS_ROUTES``): ``tests/security/test_cds_jwt.py``."""
    routes: set[tuple[str, str]] = set()
    for route in api_routes(world.service.app.router.routes):
        if route.path in DOCS_PATHS or not route.include_in_schema:
            continue
        routes.update((method, route.path) for method in methods(route))
    assert sorted(routes - set(EXPECTED)) == [], "routes missing from EXPECTED"
    assert sorted(set(EXPECTED) - routes) == [], "EXPECTED names routes the app does not have"


def _case_id(value: Any) -> str:
    return value if isinstance(value, str) else f"{value[0]} {value[1]}"


@pytest.mark.parametrize("caller", CALLERS, ids=str)
@pytest.mark.parametrize("route", sorted(EXPECTED), ids=_case_id)
def test_authorization_matrix(world: World, route: tuple[str, str], caller: Role | str) -> None:
    method, template = route
    expected = EXPECTED[route]
    call = build_call(world, method, template, caller)
    refused = expected not in (PUBLIC, LINK) and (caller == ANONYMOUS or caller not in expected)
    before = world.snapshot() if refused else None
    mark = world.audit_mark()

    response = call.send(world)
    status = response.status_code
    where = f"{method} {call.url} as {caller}: {status} {response.text[:300]}"

    if expected in (PUBLIC, LINK) or (caller != ANONYMOUS and caller in expected):
        assert status not in (401, 403), where
        assert status < 500, where
        if expected == LINK:  # the link opened (not unknown, expired or used up)
            assert status not in (404, 410), where
        return
    refusal = (401, "unauthorized") if caller == ANONYMOUS else (403, "forbidden")
    assert status == refusal[0], where
    assert error_code(response) == refusal[1], where
    assert world.snapshot() == before, f"a refused request changed stored data: {where}"
    world.refusal(
        mark,
        actor=world.user_ref(caller),
        reason="unauthenticated" if caller == ANONYMOUS else "forbidden",
        clinic=None if caller == ANONYMOUS else world.service.clinic_id,
        named=call.named,
        where=where,
    )


def test_a_role_change_applies_at_once(world: World) -> None:
    """An admin moving a clinician to the front desk ends their clinical permissions now,
    not when a cached check of their token runs out: every credential of theirs ends
    (issue 9), so the token is refused outright."""
    admin = world.headers(A)
    user = world.created(
        "/api/users",
        {
            "email": f"moving-{uuid.uuid4().hex[:8]}@clinic.example",
            "name": "Moving Synthetic",
            "role": "clinician",
            "password": PASSWORD,
        },
        A,
    )
    actor = Actor(
        ref=f"user:{user['id']}", user_id=user["id"], role=C, clinic_id=world.service.clinic_id
    )
    token, _ = mint_api_token(world.service.runtime, actor, days=1)
    mine = {"authorization": f"Bearer {token}"}
    url = f"/api/sessions/{world.session}"
    assert world.client.get(url, headers=mine).status_code == 200  # a clinician reads it

    etag = world.etag(f"/api/users/{user['id']}", A)
    moved = world.client.patch(
        f"/api/users/{user['id']}",
        json={"role": "front-desk"},
        headers={**admin, "if-match": etag},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["role"] == "front-desk"

    before = world.snapshot()
    mark = world.audit_mark()
    refused = world.client.get(url, headers=mine)
    assert refused.status_code == 401, f"GET {url} right after the role change: {refused}"
    assert refused.json()["error"]["code"] == "unauthorized"
    world.refusal(
        mark,
        actor=f"user:{user['id']}",
        reason="credential-ended",
        clinic=world.service.clinic_id,
        named=(world.session,),
    )
    written = world.client.post(
        f"/api/patients/{world.patient_a}/sessions",
        json=session_body(world.provider),
        headers=mine,
    )
    assert written.status_code == 401, written.text
    assert world.snapshot() == before


# ------------------------------------------------------------------ cookie sessions


def _cookie_client(world: World, role: Role) -> tuple[ApiClient, str]:
    """A separate client logged in by cookie as ``role``; returns it and the CSRF token."""
    client = ApiClient(world.service.app)
    response = client.post(
        "/api/auth/login", json={"email": f"{role.value}@clinic.example", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert client.cookies.get("nw_session")
    return client, response.json()["csrf_token"]


@pytest.mark.parametrize("role", [A, C, F], ids=str)
def test_cookie_sessions_need_the_csrf_token_on_unsafe_methods(world: World, role: Role) -> None:
    client, csrf = _cookie_client(world, role)
    try:
        url = f"/api/patients/{world.patient_b}/check-ins"
        assert client.get("/api/check-ins", params={"limit": 1}).status_code == 200  # safe

        before = world.snapshot()
        for headers in ({}, {"x-csrf-token": "0" * len(csrf)}, {"x-csrf-token": ""}):
            mark = world.audit_mark()
            refused = client.post(url, json=CHECK_IN, headers=headers)
            assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
            entry = world.refusal(
                mark,
                actor=world.user_ref(role),
                reason="csrf",
                clinic=world.service.clinic_id,
                named=(world.patient_b,),
            )
            assert (entry.action, entry.resource_type) == ("create", "check-in")
        assert world.snapshot() == before

        accepted = client.post(url, json=CHECK_IN, headers={"x-csrf-token": csrf})
        assert accepted.status_code == 201, accepted.text
    finally:
        client.close()


def test_a_cookie_patch_without_csrf_is_refused_and_changes_nothing(world: World) -> None:
    client, csrf = _cookie_client(world, F)
    try:
        url = f"/api/patients/{world.patient_b}"
        etag = client.get(url).headers["etag"]
        before = world.snapshot()
        refused = client.patch(url, json={"phone": "555-0142"}, headers={"if-match": etag})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
        assert world.snapshot() == before
        accepted = client.patch(
            url, json={"phone": "555-0142"}, headers={"if-match": etag, "x-csrf-token": csrf}
        )
        assert accepted.status_code == 200, accepted.text
    finally:
        client.close()


def test_a_bearer_token_needs_no_csrf_token(world: World) -> None:
    response = world.client.post(
        f"/api/patients/{world.patient_b}/check-ins", json=CHECK_IN, headers=world.headers(F)
    )
    assert response.status_code == 201, response.text


# ------------------------------------------------------------------ patient links


def _patient_routes(world: World) -> list[APIRoute]:
    return [
        route
        for route in api_routes(world.service.app.router.routes)
        if route.path.startswith("/api/p/")
    ]


def _link_calls(token: str, world: World) -> list[tuple[str, str, Any]]:
    """(method, url, body) for every patient route, opened with ``token``."""
    bodies = _bodies(world, ANONYMOUS)
    calls = []
    for route in _patient_routes(world):
        for method in methods(route):
            body = bodies.get((method, route.path))
            calls.append((method, route.path.format(token=token), body() if body else None))
    return calls


def test_a_link_names_its_own_patient_only(world: World) -> None:
    for purpose in PURPOSES:
        response = world.client.get(f"/api/p/{world.links['A', purpose]}")
        assert response.status_code == 200, response.text
        info = response.json()
        assert (info["purpose"], info["given_name"]) == (purpose, "Avery")
        for other in ("Blake", "Blakeson", "Averyson", "1985"):  # B; A's family name, birth
            assert other not in response.text, (purpose, other)
        assert "patient_id" not in info
    b = world.client.get(f"/api/p/{world.links['B', 'check-in']}").json()
    assert b["given_name"] == "Blake"


def test_no_patient_route_takes_a_patient_id(world: World) -> None:
    """The link is the only key: no patient route has a parameter naming a patient."""
    openapi = world.client.get("/openapi.json").json()
    for route in _patient_routes(world):
        dependant = route.dependant
        assert [p.name for p in dependant.path_params] == ["token"], route.path
        assert [p.name for p in dependant.query_params] == [], route.path
        assert [p.name for p in dependant.header_params] == [], route.path
        for method in methods(route):
            operation = openapi["paths"][route.path][method.lower()]
            parameters = [p["name"] for p in operation.get("parameters", [])]
            assert [p for p in parameters if p != "Idempotency-Key"] == ["token"], route.path
            assert "patient_id" not in str(operation.get("requestBody", {})), route.path


def test_a_check_in_link_stores_for_its_own_patient_only(world: World) -> None:
    token = world.links["A", "check-in"]
    link_ref = f"link:{world.link_ids['A', 'check-in']}"
    before_a = world.count(CheckIn, world.patient_a)
    before_b = world.count(CheckIn, world.patient_b)

    sent = world.client.post(f"/api/p/{token}/check-in", json=CHECK_IN)
    assert sent.status_code == 201, sent.text
    # another patient's id in the query string or the body opens nothing of theirs (the
    # same answers again are counted on the first check-in, not stored: 200)
    pointed = world.client.post(
        f"/api/p/{token}/check-in", json=CHECK_IN, params={"patient_id": world.patient_b}
    )
    assert pointed.status_code == 200, pointed.text
    assert pointed.json()["id"] == sent.json()["id"]
    smuggled = world.client.post(
        f"/api/p/{token}/check-in", json={**CHECK_IN, "patient_id": world.patient_b}
    )
    # a check-in holds only what the aftercare Questionnaire asks (issue 9): refused
    assert smuggled.status_code == 422, smuggled.text
    assert smuggled.json()["error"]["location"] == "$.patient_id"

    assert world.count(CheckIn, world.patient_a) == before_a + 1
    assert world.count(CheckIn, world.patient_b) == before_b
    with world.service.runtime.db.read() as session:
        rows = session.execute(
            select(CheckIn.patient_id, CheckIn.session_id).where(CheckIn.created_by == link_ref)
        ).all()
    assert rows
    assert {tuple(row) for row in rows} == {(world.patient_a, world.session)}


def test_a_link_token_is_no_staff_credential(world: World) -> None:
    staff_calls = [
        ("GET", f"/api/patients/{world.patient_a}", None),
        ("GET", "/api/check-ins", None),
        ("GET", "/api/auth/me", None),
        ("POST", f"/api/patients/{world.patient_a}/check-ins", CHECK_IN),
    ]
    before = world.snapshot()
    for purpose in PURPOSES:
        token = world.links["A", purpose]
        for method, url, body in staff_calls:
            mark = world.audit_mark()
            as_bearer = world.client.request(
                method, url, json=body, headers={"authorization": f"Bearer {token}"}
            )
            assert as_bearer.status_code == 401, (purpose, method, url, as_bearer.text)
            world.refusal(
                mark,
                actor="anonymous",
                reason="unknown-credential",
                clinic=None,
                named=(world.patient_a,),
                where=f"{method} {url}",
            )
            as_cookie = ApiClient(world.service.app)
            try:
                as_cookie.cookies.set("nw_session", token)
                response = as_cookie.request(method, url, json=body)
                assert response.status_code == 401, (purpose, method, url, response.text)
            finally:
                as_cookie.close()
    assert world.snapshot() == before


def test_a_link_opens_only_its_purposes_routes(world: World) -> None:
    before = world.snapshot()
    for purpose in PURPOSES:
        token = world.links["A", purpose]
        for method, url, body in _link_calls(token, world):
            template = url.replace(token, "{token}")
            if template == "/api/p/{token}" or LINK_PURPOSE[template] == purpose:
                continue
            mark = world.audit_mark()
            response = world.client.request(method, url, json=body)
            assert response.status_code == 404, (purpose, method, template, response.text)
            assert response.json()["error"]["code"] == "not-found"
            world.refusal(
                mark,
                actor=f"link:{world.link_ids['A', purpose]}",
                reason="wrong-purpose",
                clinic=world.service.clinic_id,
                where=f"{purpose} link on {method} {template}",
            )
    assert world.snapshot() == before


def _tampered(token: str) -> list[str]:
    """The token with one character changed, in the payload and in the signature."""
    payload, _, signature = token.rpartition(".")
    positions = [0, len(payload) // 2, len(payload) + 1, len(payload) + 1 + len(signature) // 2]
    out = []
    for i in positions:
        replacement = "A" if token[i] != "A" else "B"
        out.append(token[:i] + replacement + token[i + 1 :])
    return out


def test_a_tampered_link_opens_nothing(world: World) -> None:
    before = world.snapshot()
    for purpose in PURPOSES:
        token = world.links["A", purpose]
        for bad in _tampered(token):
            assert bad != token
            for method, url, body in _link_calls(bad, world):
                mark = world.audit_mark()
                response = world.client.request(method, url, json=body)
                assert response.status_code == 404, (purpose, method, url, response.text)
                world.refusal(mark, actor="anonymous", reason="invalid-link", clinic=None)
    assert world.snapshot() == before


def test_staff_tokens_open_no_patient_route(world: World) -> None:
    before = world.snapshot()
    for role in (A, C, F):
        token = world.service.tokens[role]
        for method, url, body in _link_calls(token, world):
            mark = world.audit_mark()
            response = world.client.request(method, url, json=body, headers=world.headers(role))
            assert response.status_code == 404, (role, method, url, response.text)
            world.refusal(mark, actor="anonymous", reason="invalid-link", clinic=None)
    assert world.snapshot() == before
