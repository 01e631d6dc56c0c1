"""Adverse events through the API on both databases: the type is a risk id of the
knowledge base, dates and outcome are consistent, a linked session is the patient's own,
updates need If-Match, and every read and write is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from needlewise.knowledge.schema.clinical import Risk
from needlewise.security.roles import Role
from support.service import Service
from support.treatment import audit_rows, make_patient, ready_patient, session_body, user_ref

NOW = datetime.now(UTC)


def event(**fields: Any) -> dict[str, Any]:
    return {
        "event_type": "risk.pneumothorax",
        "severity": "severe",
        "serious": True,
        "outcome": "resolving",
        "onset_at": (NOW - timedelta(days=2)).isoformat(),
        "description": "Shortness of breath the evening after treatment",
        **fields,
    }


def record_session(service: Service, patient: int, provider: int) -> int:
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    session_id: int = response.json()["id"]
    return session_id


def test_record_read_list_update_with_audit(service: Service) -> None:
    patient, provider = ready_patient(service)
    session_id = record_session(service, patient, provider)
    clinician = service.headers(Role.clinician)
    created = service.client.post(
        f"/api/patients/{patient}/adverse-events",
        json=event(session_id=session_id),
        headers=clinician,
    )
    assert created.status_code == 201, created.text
    out = created.json()
    risk = service.runtime.kb.get("risk.pneumothorax")
    assert isinstance(risk, Risk)
    assert out["event_title"] == risk.title.en
    assert out["session_id"] == session_id
    eid, etag = out["id"], created.headers["etag"]

    minor = service.client.post(
        f"/api/patients/{patient}/adverse-events",
        json=event(
            event_type="risk.bruising",
            severity="mild",
            serious=False,
            outcome="resolved",
            onset_at=(NOW - timedelta(days=20)).isoformat(),
            resolved_at=(NOW - timedelta(days=18)).isoformat(),
        ),
        headers=clinician,
    ).json()

    admin = service.headers(Role.admin)
    listing = service.client.get(f"/api/adverse-events?patient_id={patient}", headers=admin).json()
    assert [e["id"] for e in listing["items"]] == [eid, minor["id"]]  # newest onset first
    serious = service.client.get("/api/adverse-events?serious=true", headers=admin).json()
    assert [e["id"] for e in serious["items"]] == [eid]
    since = (NOW - timedelta(days=5)).isoformat()
    recent = service.client.get("/api/adverse-events", params={"since": since}, headers=admin)
    assert [e["id"] for e in recent.json()["items"]] == [eid]
    one = service.client.get(f"/api/adverse-events/{eid}", headers=admin)
    assert one.status_code == 200
    assert one.headers["etag"] == etag

    resolved = (NOW - timedelta(hours=1)).isoformat()
    patch = {"outcome": "resolved", "resolved_at": resolved}
    missing = service.client.patch(f"/api/adverse-events/{eid}", json=patch, headers=clinician)
    assert missing.status_code == 428
    updated = service.client.patch(
        f"/api/adverse-events/{eid}", json=patch, headers={**clinician, "if-match": etag}
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["outcome"], updated.json()["version"]) == ("resolved", 2)
    stale = service.client.patch(
        f"/api/adverse-events/{eid}",
        json={"description": "x"},
        headers={**clinician, "if-match": etag},
    )
    assert stale.status_code == 412

    rows = [r for r in audit_rows(service, patient) if r[2] == "adverse-event"]
    clinician_ref, admin_ref = user_ref(service, Role.clinician), user_ref(service, Role.admin)
    assert rows[:2] == [
        (clinician_ref, "create", "adverse-event", str(eid)),
        (clinician_ref, "create", "adverse-event", str(minor["id"])),
    ]
    assert rows.count((admin_ref, "read", "adverse-event", str(eid))) == 4
    assert rows[-1] == (clinician_ref, "update", "adverse-event", str(eid))


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("not a knowledge id", {"event_type": "risk.dragon-bite"}, "$.event_type"),
    ("a symptom is not a risk", {"event_type": "symptom.chest-pain"}, "$.event_type"),
    ("bad severity", {"severity": "extreme"}, "$.severity"),
    ("bad outcome", {"outcome": "better"}, "$.outcome"),
    ("naive onset", {"onset_at": "2026-01-01T10:00:00"}, "$.onset_at"),
    ("future onset", {"onset_at": "2999-01-01T10:00:00Z"}, "$.onset_at"),
    (
        "resolved before onset",
        {"outcome": "resolved", "resolved_at": (NOW - timedelta(days=3)).isoformat()},
        "$.resolved_at",
    ),
    (
        "resolution date on an unresolved event",
        {"outcome": "not-resolved", "resolved_at": NOW.isoformat()},
        "$.resolved_at",
    ),
    ("fatal but not serious", {"outcome": "fatal", "serious": False}, "$.serious"),
    ("unknown session", {"session_id": 999_999}, "$.session_id"),
    ("unknown field", {"grade": 3}, "$.grade"),
]


@pytest.mark.parametrize(("change", "location"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_422_at_its_path(
    service: Service, change: dict[str, Any], location: str
) -> None:
    patient = make_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/adverse-events",
        json=event(**change),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == location
    listing = service.client.get("/api/adverse-events", headers=service.headers(Role.admin))
    assert listing.json()["total"] == 0


def test_session_must_be_the_patients_own(service: Service) -> None:
    patient, provider = ready_patient(service)
    other = make_patient(service, "Bob")
    session_id = record_session(service, patient, provider)
    response = service.client.post(
        f"/api/patients/{other}/adverse-events",
        json=event(session_id=session_id),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422
    assert response.json()["error"]["location"] == "$.session_id"


def test_patch_checks_the_whole_record(service: Service) -> None:
    patient = make_patient(service)
    clinician = service.headers(Role.clinician)
    created = service.client.post(
        f"/api/patients/{patient}/adverse-events", json=event(), headers=clinician
    )
    eid, etag = created.json()["id"], created.headers["etag"]
    for change, location in [
        ({"outcome": "fatal", "serious": False}, "$.serious"),
        ({"severity": None}, "$.severity"),
        ({"event_type": "risk.unknown"}, "$.event_type"),
    ]:
        response = service.client.patch(
            f"/api/adverse-events/{eid}", json=change, headers={**clinician, "if-match": etag}
        )
        assert response.status_code == 422, (change, response.text)
        assert response.json()["error"]["location"] == location
    read = service.client.get(f"/api/adverse-events/{eid}", headers=clinician).json()
    assert (read["version"], read["outcome"], read["severity"]) == (1, "resolving", "severe")


@pytest.mark.parametrize(
    ("role", "method", "status"),
    [
        (Role.front_desk, "post", 403),
        (Role.admin, "post", 403),
        (Role.front_desk, "get", 403),
        (Role.admin, "get", 200),
        (Role.clinician, "get", 200),
    ],
)
def test_roles(service: Service, role: Role, method: str, status: int) -> None:
    patient = make_patient(service)
    if method == "post":
        response = service.client.post(
            f"/api/patients/{patient}/adverse-events", json=event(), headers=service.headers(role)
        )
    else:
        response = service.client.get("/api/adverse-events", headers=service.headers(role))
    assert response.status_code == status
