"""Stored screenings through the API on both databases: create from a Bundle or an intake
QuestionnaireResponse, the recorded birth date feeding the age rule
(contraindication.child), list and read with audit entries, role and input checks, and
``latest_screening`` for the session rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from needlewise.interop.fhir.canonical import YES_NO_SYSTEM
from needlewise.persistence.models import AuditEntry, Screening
from needlewise.security.roles import Role
from needlewise.services.stored_screenings import latest_screening
from support.service import Service
from support.treatment import intake

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CHILD = "contraindication.child"
ANTICOAGULANT = "contraindication.anticoagulant"


def anticoagulant_bundle(birth_date: str | None) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c1",
                "subject": {"reference": "Patient/ehr-1"},
                "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
                "code": {"coding": [{"system": ICD10CM, "code": "Z79.01"}]},
            }
        }
    ]
    if birth_date is not None:
        entries.insert(
            0, {"resource": {"resourceType": "Patient", "id": "ehr-1", "birthDate": birth_date}}
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def years_ago(years: int) -> str:
    today = date.today()
    return date(today.year - years, 1, 1).isoformat()


def new_patient(service: Service, birth_date: str | None = None, **fields: Any) -> int:
    body = {"given_name": "Test", "family_name": "Patient", **fields}
    if birth_date is not None:
        body["birth_date"] = birth_date
    response = service.client.post(
        "/api/patients", json=body, headers=service.headers(Role.front_desk)
    )
    assert response.status_code == 201, response.text
    patient_id: int = response.json()["id"]
    return patient_id


def audit_rows(service: Service, patient_id: int, resource_type: str) -> list[tuple[str, str, str]]:
    with service.runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.patient_id == patient_id, AuditEntry.resource_type == resource_type)
            .order_by(AuditEntry.id)
        )
        return [(r.actor, r.action, r.resource_id or "") for r in rows]


def fired(result: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in result["findings"]}


def stored_count(service: Service) -> int:
    with service.runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(Screening)) or 0


def test_create_from_intake_uses_the_recorded_birth_date(service: Service) -> None:
    kb = service.runtime.kb
    child = new_patient(service, birth_date=years_ago(10))
    adult = new_patient(service, birth_date=years_ago(40))
    clinician = service.headers(Role.clinician)

    response = service.client.post(
        f"/api/patients/{child}/screenings?language=es", json=intake(kb), headers=clinician
    )
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["patient_id"] == child
    assert stored["decision"] == "review"
    assert CHILD in fired(stored["result"])
    assert stored["result"]["language"] == "es"
    assert stored["knowledge"] == {
        "version": kb.version,
        "sha256": kb.sha256,
        "value_sets_sha256": kb.codes.value_sets_sha256,
    }
    assert stored["created_by"] == f"user:{service.users[Role.clinician].id}"
    # the bare QuestionnaireResponse was wrapped in a Bundle with the recorded birth date
    inputs = stored["inputs"]
    assert inputs["resourceType"] == "Bundle"
    patients = [
        e["resource"] for e in inputs["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert patients == [{"resourceType": "Patient", "birthDate": years_ago(10)}]

    grown = service.client.post(
        f"/api/patients/{adult}/screenings", json=intake(kb), headers=clinician
    ).json()
    assert grown["decision"] == "eligible"
    assert fired(grown["result"]) == set()


def test_a_patient_in_the_bundle_wins_over_the_record(service: Service) -> None:
    patient = new_patient(service, birth_date=years_ago(10))
    headers = service.headers(Role.front_desk)
    with_own = service.client.post(
        f"/api/patients/{patient}/screenings?electrical_stimulation=false",
        json=anticoagulant_bundle(years_ago(50)),
        headers=headers,
    )
    assert with_own.status_code == 201, with_own.text
    body = with_own.json()
    assert fired(body["result"]) == {ANTICOAGULANT}
    assert body["electrical_stimulation"] is False
    assert len(body["inputs"]["entry"]) == 2  # nothing added

    without = service.client.post(
        f"/api/patients/{patient}/screenings", json=anticoagulant_bundle(None), headers=headers
    ).json()
    assert fired(without["result"]) == {ANTICOAGULANT, CHILD}
    assert without["inputs"]["entry"][-1]["resource"] == {
        "resourceType": "Patient",
        "birthDate": years_ago(10),
    }
    assert without["electrical_stimulation"] is None


def test_without_a_recorded_birth_date_the_document_is_stored_as_sent(service: Service) -> None:
    kb = service.runtime.kb
    patient = new_patient(service)
    document = intake(kb)
    response = service.client.post(
        f"/api/patients/{patient}/screenings", json=document, headers=service.headers(Role.admin)
    )
    assert response.status_code == 201, response.text
    assert response.json()["inputs"] == document
    assert response.json()["decision"] == "eligible"


def test_list_get_filters_and_audit(service: Service) -> None:
    kb = service.runtime.kb
    first = new_patient(service, birth_date=years_ago(40))
    second = new_patient(service, birth_date=years_ago(40))
    clinician = service.headers(Role.clinician)
    ids = []
    for patient, document in [
        (first, intake(kb)),
        (first, intake(kb, **{"needle-fear": "yes"})),
        (second, intake(kb)),
    ]:
        response = service.client.post(
            f"/api/patients/{patient}/screenings", json=document, headers=clinician
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])

    front = service.headers(Role.front_desk)
    listing = service.client.get(f"/api/screenings?patient_id={first}", headers=front).json()
    assert listing["total"] == 2
    assert [s["id"] for s in listing["items"]] == [ids[1], ids[0]]  # newest first
    assert [s["decision"] for s in listing["items"]] == ["not-eligible", "eligible"]
    assert all(s["inputs"] is None for s in listing["items"])

    eligible = service.client.get("/api/screenings?decision=eligible", headers=front).json()
    assert {s["id"] for s in eligible["items"]} == {ids[0], ids[2]}
    paged = service.client.get("/api/screenings?limit=1&offset=1", headers=front).json()
    assert paged["total"] == 3
    assert [s["id"] for s in paged["items"]] == [ids[1]]

    one = service.client.get(f"/api/screenings/{ids[1]}", headers=front)
    assert one.status_code == 200
    assert one.json()["inputs"]["resourceType"] == "Bundle"
    assert "contraindication.needle-fear" in fired(one.json()["result"])

    clinician_ref = f"user:{service.users[Role.clinician].id}"
    front_ref = f"user:{service.users[Role.front_desk].id}"
    rows = audit_rows(service, first, "screening")
    assert rows[:2] == [
        (clinician_ref, "create", str(ids[0])),
        (clinician_ref, "create", str(ids[1])),
    ]
    reads = [r for r in rows if r[1] == "read"]
    # one read per row returned: the patient filter (2), decision filter (1), the page
    # (1) and the single read (1)
    assert sorted(reads) == sorted(
        [
            (front_ref, "read", str(ids[1])),
            (front_ref, "read", str(ids[0])),
            (front_ref, "read", str(ids[0])),
            (front_ref, "read", str(ids[1])),
            (front_ref, "read", str(ids[1])),
        ]
    )
    assert audit_rows(service, second, "screening")[-1] == (front_ref, "read", str(ids[2]))


def test_bad_input_is_422_with_the_path_and_stores_nothing(service: Service) -> None:
    kb = service.runtime.kb
    patient = new_patient(service, birth_date=years_ago(40))
    headers = service.headers(Role.clinician)
    broken = intake(kb)
    broken["item"][2]["answer"] = [{"valueCoding": {"system": YES_NO_SYSTEM, "code": "MAYBE"}}]
    response = service.client.post(
        f"/api/patients/{patient}/screenings", json=broken, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["location"].startswith("$.item[2]")

    other = intake(kb)
    other["questionnaire"] = "http://example.org/Questionnaire/other"
    refused = service.client.post(
        f"/api/patients/{patient}/screenings", json=other, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["location"] == "$.questionnaire"

    for body, status in [(b"{", 400), (b"", 400), (b'{"resourceType": "Patient"}', 422)]:
        answer = service.client.post(
            f"/api/patients/{patient}/screenings",
            content=body,
            headers={**headers, "content-type": "application/json"},
        )
        assert answer.status_code == status, answer.text
    language = service.client.post(
        f"/api/patients/{patient}/screenings?language=fr", json=intake(kb), headers=headers
    )
    assert language.status_code == 422
    assert stored_count(service) == 0
    assert audit_rows(service, patient, "screening") == []


def test_unknown_patient_screening_and_credentials(service: Service) -> None:
    kb = service.runtime.kb
    headers = service.headers(Role.clinician)
    missing = service.client.post("/api/patients/9999/screenings", json=intake(kb), headers=headers)
    assert missing.status_code == 404
    assert service.client.get("/api/screenings/9999", headers=headers).status_code == 404
    patient = new_patient(service)
    assert (
        service.client.post(f"/api/patients/{patient}/screenings", json=intake(kb)).status_code
        == 401
    )
    assert service.client.get("/api/screenings").status_code == 401
    assert stored_count(service) == 0


def test_latest_screening_is_the_newest(service: Service) -> None:
    kb = service.runtime.kb
    patient = new_patient(service, birth_date=years_ago(40))
    headers = service.headers(Role.clinician)
    with service.runtime.db.read() as session:
        assert latest_screening(session, patient) is None
    for document in (intake(kb, **{"needle-fear": "yes"}), intake(kb)):
        service.client.post(f"/api/patients/{patient}/screenings", json=document, headers=headers)
    with service.runtime.db.read() as session:
        latest = latest_screening(session, patient)
        assert latest is not None
        assert latest.decision == "eligible"
        assert latest.created_by == f"user:{service.users[Role.clinician].id}"
