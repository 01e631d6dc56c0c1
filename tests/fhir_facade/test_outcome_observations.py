"""Outcome scores as FHIR Observations (emit/outcome_observation.py): valid R4B, our
measure code always, LOINC only where the knowledge base holds one (NPRS), section
components by our own codes, a skipped ODI section as ``asked-declined``, found by
search (patient, date, _id) and read back by id, audited, and hidden from front desk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from needlewise.persistence.models import AuditEntry
from needlewise.security.roles import Role
from needlewise.services import fhir_read
from support.fhir import validate_r4b
from support.service import Service
from support.treatment import ready_patient, session_body

BASE = "https://clinic.example"
NDI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "reading", "headaches",
    "concentration", "work", "driving", "sleeping", "recreation",
]  # fmt: skip
ODI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "walking", "sitting",
    "standing", "sleeping", "sex-life", "social-life", "travelling",
]  # fmt: skip


def _post(service: Service, patient: int, body: dict[str, Any]) -> int:
    answer = service.client.post(
        f"/api/patients/{patient}/outcomes", json=body, headers=service.headers(Role.clinician)
    )
    assert answer.status_code == 201, answer.text
    outcome_id: int = answer.json()["id"]
    return outcome_id


def _world(service: Service) -> tuple[int, int, dict[str, int]]:
    patient, provider = ready_patient(service)
    session = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, pain_before=6),
        headers=service.headers(Role.clinician),
    ).json()["id"]
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    scores = {
        "ndi": _post(
            service,
            patient,
            {
                "measure": "measure.ndi",
                "session_id": session,
                "recorded_at": at,
                "items": [{"key": k, "score": 2} for k in NDI_KEYS],
            },
        ),
        "odi": _post(
            service,
            patient,
            {
                "measure": "measure.odi",
                "items": [{"key": k, "score": 3} for k in ODI_KEYS[:9]]
                + [{"key": "travelling", "score": None}],
            },
        ),
        "psfs": _post(
            service,
            patient,
            {
                "measure": "measure.psfs",
                "items": [
                    {"name": "climbing stairs", "score": 3},
                    {"name": "lifting a child", "score": 4},
                    {"name": "typing", "score": 8},
                ],
            },
        ),
        "nprs": _post(service, patient, {"measure": "measure.nprs", "items": [{"score": 4}]}),
    }
    return patient, session, scores


def test_outcome_scores_are_valid_observations(service: Service) -> None:
    patient, session, scores = _world(service)
    admin = service.actor(Role.admin)
    found = fhir_read.search(
        service.runtime, admin, "Observation", [("patient", f"Patient/patient-{patient}")], BASE
    )
    by_id = {r["id"]: r for r in found.resources}
    for resource in found.resources:
        validate_r4b(resource)
    assert {f"outcome-{n}" for n in scores.values()} <= set(by_id)
    assert f"session-{session}-nprs-before" in by_id  # the session's own pain score too

    ndi = by_id[f"outcome-{scores['ndi']}"]
    assert ndi["code"]["coding"] == [
        {
            "system": ndi["code"]["coding"][0]["system"],
            "code": "measure.ndi",
            "display": "Neck Disability Index",
        }
    ]  # no LOINC: not searched for the NDI
    assert ndi["valueQuantity"] == {
        "value": 20.0,
        "unit": "score",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    assert ndi["partOf"] == [{"reference": f"Procedure/session-{session}"}]
    codes = [c["code"]["coding"][0]["code"] for c in ndi["component"]]
    assert codes[2] == "measure.ndi.lifting"
    assert codes[-1] == "measure.ndi.percent"
    assert ndi["component"][-1]["valueQuantity"]["value"] == 40.0

    odi = by_id[f"outcome-{scores['odi']}"]
    assert odi["valueQuantity"]["code"] == "%"
    assert odi["valueQuantity"]["value"] == 60.0
    skipped = odi["component"][-1]
    assert skipped["dataAbsentReason"]["coding"][0]["code"] == "asked-declined"
    assert "valueInteger" not in skipped

    psfs = by_id[f"outcome-{scores['psfs']}"]
    assert psfs["valueQuantity"]["value"] == 5.0
    assert [c["code"]["text"] for c in psfs["component"]] == [
        "climbing stairs",
        "lifting a child",
        "typing",
    ]

    nprs = by_id[f"outcome-{scores['nprs']}"]
    assert nprs["valueInteger"] == 4
    assert nprs["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "72514-3",
        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    }
    assert nprs["code"]["coding"][1]["code"] == "measure.nprs"
    assert "component" not in nprs

    for outcome_id in scores.values():
        read = fhir_read.read_resource(
            service.runtime, admin, "Observation", f"outcome-{outcome_id}", BASE
        )
        assert read == by_id[f"outcome-{outcome_id}"]


def test_search_by_id_and_date_and_audit(service: Service) -> None:
    patient, _session, scores = _world(service)
    admin = service.headers(Role.admin)
    one = service.client.get(f"/fhir/Observation?_id=outcome-{scores['odi']}", headers=admin)
    assert one.status_code == 200, one.text
    assert [e["resource"]["id"] for e in one.json()["entry"]] == [f"outcome-{scores['odi']}"]
    day = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d")
    dated = service.client.get(
        f"/fhir/Observation?patient=Patient/patient-{patient}&date=ge{day}", headers=admin
    ).json()
    assert f"outcome-{scores['ndi']}" in {e["resource"]["id"] for e in dated["entry"]}
    with service.runtime.db.read() as tx:
        reads = tx.scalars(
            select(AuditEntry.resource_id).where(
                AuditEntry.resource_type == "outcome-score", AuditEntry.action == "read"
            )
        ).all()
    assert str(scores["odi"]) in reads


def test_front_desk_sees_no_outcome_scores(service: Service) -> None:
    _patient, _session, scores = _world(service)
    desk = service.headers(Role.front_desk)
    listed = service.client.get("/fhir/Observation?_count=100", headers=desk).json()
    assert not any(e["resource"]["id"].startswith("outcome-") for e in listed.get("entry", []))
    read = service.client.get(f"/fhir/Observation/outcome-{scores['ndi']}", headers=desk)
    assert read.status_code == 403
