"""Patients through the API on both databases: create, read, list, update with If-Match,
audit entries for every read and write, and role checks."""

from __future__ import annotations

from sqlalchemy import select

from needlewise.persistence.models import AuditEntry
from needlewise.security.roles import Role
from support.service import Service

ALICE = {
    "given_name": "Alice",
    "family_name": "Synthetic",
    "birth_date": "1980-02-03",
    "preferred_language": "es",
}


def audit_rows(service: Service, patient_id: int) -> list[tuple[str, str, str]]:
    with service.runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.patient_id == patient_id).order_by(AuditEntry.id)
        )
        return [(r.actor, r.action, r.resource_type) for r in rows]


def test_create_read_update_with_etag_and_audit(service: Service) -> None:
    front = service.headers(Role.front_desk)
    created = service.client.post("/api/patients", json=ALICE, headers=front)
    assert created.status_code == 201, created.text
    patient = created.json()
    pid = patient["id"]
    assert patient["preferred_language"] == "es"
    etag = created.headers["etag"]

    read = service.client.get(f"/api/patients/{pid}", headers=service.headers(Role.clinician))
    assert read.status_code == 200
    assert read.headers["etag"] == etag

    no_match = service.client.patch(
        f"/api/patients/{pid}", json={"phone": "555-0101"}, headers=front
    )
    assert no_match.status_code == 428
    updated = service.client.patch(
        f"/api/patients/{pid}", json={"phone": "555-0101"}, headers={**front, "if-match": etag}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    stale = service.client.patch(
        f"/api/patients/{pid}", json={"phone": "555-0199"}, headers={**front, "if-match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["current_version"] == 2

    front_id = service.users[Role.front_desk].id
    clinician_id = service.users[Role.clinician].id
    assert audit_rows(service, pid) == [
        (f"user:{front_id}", "create", "patient"),
        (f"user:{clinician_id}", "read", "patient"),
        (f"user:{front_id}", "update", "patient"),
    ]


def test_list_filters_paginates_and_audits_each_patient(service: Service) -> None:
    front = service.headers(Role.front_desk)
    ids = []
    for given, family in [("Ana", "Zeta"), ("Ben", "Alpha"), ("Cy", "Alder")]:
        response = service.client.post(
            "/api/patients", json={"given_name": given, "family_name": family}, headers=front
        )
        ids.append(response.json()["id"])
    page = service.client.get("/api/patients?q=al&limit=1", headers=front).json()
    assert page["total"] == 2
    assert [p["family_name"] for p in page["items"]] == ["Alder"]
    second = service.client.get("/api/patients?q=al&limit=1&offset=1", headers=front).json()
    assert [p["family_name"] for p in second["items"]] == ["Alpha"]
    assert ("user:" + str(service.users[Role.front_desk].id), "read", "patient") in audit_rows(
        service, ids[2]
    )


def test_requests_without_credentials_or_with_bad_input_change_nothing(service: Service) -> None:
    assert service.client.get("/api/patients").status_code == 401
    assert service.client.post("/api/patients", json=ALICE).status_code == 401
    bad = service.client.post(
        "/api/patients", json={**ALICE, "colour": "red"}, headers=service.headers(Role.admin)
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["location"] == "$.colour"
    listing = service.client.get("/api/patients", headers=service.headers(Role.admin)).json()
    assert listing["total"] == 0


def test_cookie_login_needs_csrf_for_writes(service: Service) -> None:
    login = service.client.post(
        "/api/auth/login",
        json={"email": "front-desk@clinic.example", "password": "correct horse battery staple"},
    )
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    assert "nw_session" in service.client.cookies
    assert "HttpOnly" in login.headers["set-cookie"]
    assert "Secure" in login.headers["set-cookie"]
    assert "samesite=lax" in login.headers["set-cookie"].lower()
    assert service.client.get("/api/patients").status_code == 200
    assert service.client.post("/api/patients", json=ALICE).status_code == 403
    assert (
        service.client.post("/api/patients", json=ALICE, headers={"x-csrf-token": csrf}).status_code
        == 201
    )
