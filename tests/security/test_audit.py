"""Attacks on the audit log's scope and completeness (issue 9, finding 3), on SQLite and
on PostgreSQL.

* an admin of one clinic reads only their own clinic's audit entries;
* every kind of refusal — a forbidden route, another clinic's record (answered exactly
  like a record that does not exist), a tampered, wrong-purpose, expired, cancelled or
  used-up patient link, a rate-limited login, a missing, unknown or ended credential —
  leaves exactly one entry with outcome ``denied`` or ``refused`` and a short reason,
  holding no patient data the caller did not already have (an id it named itself at
  most; nothing read from an unverified link token);
* reading the audit log is itself audited.

Tamper evidence (the hash chain, ``needlewise audit verify``, TRUNCATE) is in
``test_audit_chain.py``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from needlewise.persistence.models import PatientLink
from needlewise.security.roles import Role
from needlewise.services.api_tokens import mint_api_token
from support.audit import busy_log, holds_nothing_of, last_id, ref, the_one_entry
from support.service import PASSWORD, Clinic, Service, seed_clinic
from support.treatment import make_patient, ready_patient, session_body

CHECK_IN = {"symptoms": [], "hours_since_treatment": 20.0}


# ------------------------------------------------------------------ helpers


@pytest.fixture
def other(service: Service) -> Clinic:
    """A second clinic sharing the database, with one user per role."""
    return seed_clinic(service.runtime, "Other Synthetic Clinic", domain="other.example")


# ------------------------------------------------------------------ scope


def test_an_admin_reads_only_their_own_clinics_entries(service: Service, other: Clinic) -> None:
    patient = busy_log(service)
    mine = service.client.get("/api/audit", headers=service.headers(Role.admin))
    assert mine.status_code == 200
    assert any(item["patient_id"] == patient for item in mine.json()["items"])

    theirs = other.headers(Role.admin)
    everything = service.client.get("/api/audit", params={"limit": 100}, headers=theirs)
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    actors = {item["actor"] for item in items}
    assert not actors & {ref(service, role) for role in Role}, actors
    assert all(item["patient_id"] != patient for item in everything.json()["items"])
    assert everything.json()["total"] == len(everything.json()["items"])
    created = ("system", "create", "clinic", str(other.id))
    seen = {(i["actor"], i["action"], i["resource_type"], i["resource_id"]) for i in items}
    assert created in seen  # the clinic's own creation is the clinic's

    for params in (
        {"patient_id": patient},
        {"actor": ref(service, Role.front_desk)},
        {"action": "create"},
    ):
        answer = service.client.get("/api/audit", params=params, headers=theirs).json()
        ours = {other.ref(role) for role in Role} | {"system"}
        leaked = [i for i in answer["items"] if i["actor"] not in ours or i["patient_id"]]
        assert leaked == [], (params, leaked)


def test_reading_the_audit_log_is_audited(service: Service) -> None:
    patient = busy_log(service)
    before = last_id(service)
    response = service.client.get(
        "/api/audit", params={"patient_id": patient}, headers=service.headers(Role.admin)
    )
    assert response.status_code == 200
    entry = the_one_entry(service, before)
    assert (entry["actor"], entry["action"], entry["resource_type"]) == (
        ref(service, Role.admin),
        "read",
        "audit-log",
    )
    assert entry["patient_id"] == patient  # the admin named the patient whose trail they read
    assert (entry["outcome"], entry["clinic_id"]) == ("ok", service.clinic_id)


# ------------------------------------------------------------------ refusals


def test_a_forbidden_route_leaves_one_denied_entry(service: Service) -> None:
    patient, provider = ready_patient(service)
    made = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider),
        headers=service.headers(Role.clinician),
    )
    assert made.status_code == 201, made.text
    session_id = made.json()["id"]
    front = service.headers(Role.front_desk)

    before = last_id(service)
    refused = service.client.get(f"/api/sessions/{session_id}", headers=front)
    assert refused.status_code == 403
    entry = the_one_entry(service, before)
    assert entry["actor"] == ref(service, Role.front_desk)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == (
        "read",
        "session",
        str(session_id),
    )
    assert (entry["outcome"], entry["reason"]) == ("denied", "forbidden")
    assert entry["patient_id"] is None  # the caller did not name the patient
    assert entry["clinic_id"] == service.clinic_id
    assert entry["remote"] == "203.0.113.7"

    before = last_id(service)
    named = service.client.get("/api/sessions", params={"patient_id": patient}, headers=front)
    assert named.status_code == 403
    entry = the_one_entry(service, before)
    assert (entry["patient_id"], entry["outcome"]) == (patient, "denied")  # named in the URL


def test_another_clinics_record_is_denied_like_a_missing_one(
    service: Service, other: Clinic
) -> None:
    patient = make_patient(service, "Quentin")
    intruder = other.headers(Role.clinician)

    before = last_id(service)
    response = service.client.get(f"/api/patients/{patient}", headers=intruder)
    assert response.status_code == 404
    assert "Quentin" not in response.text
    entry = the_one_entry(service, before)
    assert entry["actor"] == other.ref(Role.clinician)
    assert entry["clinic_id"] == other.id  # the intruder's clinic sees the attempt
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == (
        "read",
        "patient",
        str(patient),
    )
    assert (entry["outcome"], entry["reason"]) == ("denied", "not-found")
    assert entry["patient_id"] == patient  # the id the intruder typed, nothing more
    holds_nothing_of(entry, "Quentin", "Synthetic")

    # the entry for a record that does not exist at all looks the same: the audit log
    # tells the intruder's admin nothing about which ids exist elsewhere
    missing = patient + 1000
    before = last_id(service)
    assert service.client.get(f"/api/patients/{missing}", headers=intruder).status_code == 404
    nothing = the_one_entry(service, before)
    same = ("actor", "action", "resource_type", "outcome", "reason", "clinic_id")
    assert {k: nothing[k] for k in same} == {k: entry[k] for k in same}

    # a write to another clinic's record: refused, one entry, nothing changed
    before = last_id(service)
    written = service.client.post(
        f"/api/patients/{patient}/check-ins", json=CHECK_IN, headers=intruder
    )
    assert written.status_code == 404
    entry = the_one_entry(service, before)
    assert (entry["action"], entry["resource_type"], entry["patient_id"]) == (
        "create",
        "check-in",
        patient,
    )
    assert (entry["outcome"], entry["clinic_id"]) == ("denied", other.id)


def test_another_clinics_record_under_its_own_id_names_no_patient(
    service: Service, other: Clinic
) -> None:
    patient = make_patient(service, "Ulrike")
    check_in = service.client.post(
        f"/api/patients/{patient}/check-ins",
        json=CHECK_IN,
        headers=service.headers(Role.front_desk),
    ).json()["id"]
    before = last_id(service)
    response = service.client.get(
        f"/api/check-ins/{check_in}", headers=other.headers(Role.front_desk)
    )
    assert response.status_code == 404
    entry = the_one_entry(service, before)
    assert (entry["resource_type"], entry["resource_id"]) == ("check-in", str(check_in))
    assert entry["patient_id"] is None  # the caller never learnt whose check-in it is
    assert (entry["outcome"], entry["reason"]) == ("denied", "not-found")


def _tampered(token: str) -> str:
    payload, _, signature = token.rpartition(".")
    i = len(payload) + 1 + len(signature) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def _link(service: Service, patient: int, purpose: str) -> dict[str, Any]:
    response = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": purpose},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _set_link(service: Service, link_id: int, **values: Any) -> None:
    with service.runtime.db.write() as session:
        link = session.get(PatientLink, link_id)
        assert link is not None
        for name, value in values.items():
            setattr(link, name, value)


def test_a_tampered_link_leaves_an_entry_with_nothing_from_the_token(service: Service) -> None:
    patient = make_patient(service, "Vesna")
    link = _link(service, patient, "check-in")
    bad = _tampered(link["token"])
    before = last_id(service)
    response = service.client.get(f"/api/p/{bad}")
    assert response.status_code == 404
    entry = the_one_entry(service, before)
    assert entry["actor"] == "anonymous"  # nothing in an unverified token is believed
    assert entry["clinic_id"] is None
    assert entry["patient_id"] is None
    assert entry["resource_id"] is None
    assert (entry["outcome"], entry["reason"]) == ("denied", "invalid-link")
    holds_nothing_of(entry, bad, link["token"], "Vesna", f"link:{link['id']}")


@pytest.mark.parametrize(
    ("case", "status", "outcome", "reason"),
    [
        ("wrong-purpose", 404, "denied", "wrong-purpose"),
        ("expired", 410, "refused", "expired-link"),
        ("revoked", 410, "refused", "revoked-link"),
        ("used", 410, "refused", "used-link"),
    ],
)
def test_a_genuine_link_refused_leaves_one_entry_of_its_clinic(
    service: Service, case: str, status: int, outcome: str, reason: str
) -> None:
    patient = make_patient(service, "Wanda")
    purpose = "intake" if case in ("wrong-purpose", "used") else "check-in"
    link = _link(service, patient, purpose)
    url = f"/api/p/{link['token']}"
    if case == "wrong-purpose":
        url += "/check-in-questionnaire"  # an intake link on a check-in route
    if case == "expired":
        _set_link(service, link["id"], expires_at=datetime.now(UTC) - timedelta(minutes=1))
    if case == "revoked":
        _set_link(service, link["id"], revoked_at=datetime.now(UTC))
    if case == "used":
        _set_link(service, link["id"], used_at=datetime.now(UTC))

    before = last_id(service)
    response = service.client.get(url)
    assert response.status_code == status, response.text
    entry = the_one_entry(service, before)
    assert entry["actor"] == f"link:{link['id']}"  # verified by its signature
    assert entry["clinic_id"] == service.clinic_id
    assert (entry["outcome"], entry["reason"]) == (outcome, reason)
    assert entry["patient_id"] is None  # the link holder never sees the patient id
    holds_nothing_of(entry, link["token"], "Wanda")


def test_a_rate_limited_login_leaves_one_refused_entry(service: Service) -> None:
    email = "front-desk@clinic.example"
    for _ in range(service.runtime.settings.login_attempts):
        wrong = service.client.post(
            "/api/auth/login", json={"email": email, "password": "not the password!"}
        )
        assert wrong.status_code == 401
    before = last_id(service)
    blocked = service.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    entry = the_one_entry(service, before)
    assert (entry["action"], entry["outcome"], entry["reason"]) == (
        "login",
        "refused",
        "rate-limited",
    )
    assert entry["actor"] == ref(service, Role.front_desk)  # whose account was targeted
    assert entry["clinic_id"] == service.clinic_id
    holds_nothing_of(entry, email, PASSWORD)

    # an unknown address belongs to no clinic: no clinic admin sees it
    for _ in range(service.runtime.settings.login_attempts):
        service.client.post("/api/auth/login", json={"email": "ghost@x.example", "password": "p"})
    before = last_id(service)
    ghost = service.client.post(
        "/api/auth/login", json={"email": "ghost@x.example", "password": "p"}
    )
    assert ghost.status_code == 429
    entry = the_one_entry(service, before)
    assert (entry["actor"], entry["clinic_id"], entry["outcome"]) == ("anonymous", None, "refused")
    holds_nothing_of(entry, "ghost")


def test_a_missing_unknown_or_ended_credential_leaves_one_denied_entry(service: Service) -> None:
    cases: list[tuple[dict[str, str], str, str, int | None]] = [
        ({}, "anonymous", "unauthenticated", None),
        ({"authorization": f"Bearer {uuid.uuid4().hex}"}, "anonymous", "unknown-credential", None),
    ]
    token, _ = mint_api_token(service.runtime, service.actor(Role.clinician), days=1)
    ended = {"authorization": f"Bearer {token}"}
    assert service.client.post("/api/auth/logout", headers=ended).status_code == 200
    cases.append((ended, ref(service, Role.clinician), "credential-ended", service.clinic_id))
    for headers, actor, reason, clinic in cases:
        before = last_id(service)
        response = service.client.get("/api/patients", headers=headers)
        assert response.status_code == 401
        entry = the_one_entry(service, before)
        assert (entry["actor"], entry["reason"], entry["clinic_id"]) == (actor, reason, clinic)
        assert (entry["action"], entry["resource_type"], entry["outcome"]) == (
            "read",
            "patient",
            "denied",
        )
