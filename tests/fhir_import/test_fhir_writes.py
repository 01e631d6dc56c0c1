"""The FHIR facade's writes through the ASGI app, on SQLite and PostgreSQL:
``POST /fhir`` (transaction Bundle), ``POST /fhir/Patient`` and
``POST /fhir/QuestionnaireResponse``; statuses, OperationOutcomes (no patient data
echoed), roles, CSRF, media types and the body cap."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from needlewise.persistence.models import Screening
from needlewise.security.roles import Role
from support.fhir_records import SYSTEM, bundle, condition, patient, snapshot, warfarin_request
from support.http import ApiClient
from support.service import PASSWORD, Service, make_service, settings_for
from support.treatment import intake

FHIR = {"content-type": "application/fhir+json"}
OUTCOME_CODES = "https://needlewise.org/fhir/CodeSystem/error-code"


def post(
    service: Service,
    url: str,
    body: Any,
    role: Role = Role.clinician,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return service.client.post(
        url, content=content, headers={**FHIR, **service.headers(role), **(headers or {})}
    )


def issues(response: httpx.Response) -> list[tuple[str, str, list[str] | None]]:
    """(issue type, our code, expression) of each issue of an OperationOutcome answer."""
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return [
        (i["code"], i["details"]["coding"][0]["code"], i.get("expression")) for i in body["issue"]
    ]


# ------------------------------------------------------------------ POST /fhir


def test_a_transaction_is_imported_and_answered_entry_by_entry(service: Service) -> None:
    document = bundle(patient("p1", "MRN-1"), condition("c1", "Patient/p1"))
    first = post(service, "/fhir", document)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["resourceType"] == "Bundle"
    assert answer["type"] == "transaction-response"
    [made_patient, made_condition] = [e["response"] for e in answer["entry"]]
    assert made_patient["status"] == "201 Created"
    assert made_patient["location"].startswith("Patient/patient-")
    assert made_condition == {"status": "201 Created"}
    again = post(service, "/fhir", document).json()
    assert [e["response"]["status"] for e in again["entry"]] == ["200 OK", "200 OK"]
    assert again["entry"][0]["response"]["location"] == made_patient["location"]


def test_a_batch_gets_a_batch_response(service: Service) -> None:
    answer = post(service, "/fhir", bundle(patient("p1", "MRN-1"), kind="batch"))
    assert answer.status_code == 200
    assert answer.json()["type"] == "batch-response"


def test_a_bad_transaction_is_one_issue_per_problem_and_writes_nothing(service: Service) -> None:
    encounter = {"resourceType": "Encounter", "id": "e", "status": "finished", "class": {}}
    document = bundle(
        patient("p1", "MRN-1"),
        encounter,
        {**condition("c1", "Patient/p1"), "onsetDateTime": "2020-02-30T99"},
        warfarin_request("m1", "Patient/elsewhere"),
    )
    before = snapshot(service.runtime)
    answer = post(service, "/fhir", document)
    assert answer.status_code == 422
    assert issues(answer) == [
        ("invalid", "invalid-input", ["$.entry[1].resource.resourceType"]),
        ("invalid", "invalid-input", ["$.entry[2].resource.onsetDateTime"]),
        ("invalid", "invalid-input", ["$.entry[3].resource.subject.reference"]),
    ]
    assert "2020-02-30T99" not in answer.text
    assert "MRN-1" not in answer.text
    assert snapshot(service.runtime) == before


def test_an_identifier_conflict_is_409(service: Service) -> None:
    post(service, "/fhir", bundle(patient("a", "MRN-A")))
    post(service, "/fhir", bundle(patient("b", "MRN-B")))
    both = patient("ab", "MRN-A")
    both["identifier"].append({"system": SYSTEM, "value": "MRN-B"})
    answer = post(service, "/fhir", bundle(both))
    assert answer.status_code == 409
    assert issues(answer) == [("conflict", "conflict", ["$.entry[0].resource.identifier"])]


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        (b"{not json", 400, None),
        (b"", 400, None),
        (b"[]", 422, None),
        (json.dumps(bundle(kind="collection")).encode(), 422, ["$.type"]),
        (json.dumps(patient("p", "M")).encode(), 422, ["$.resourceType"]),
    ],
)
def test_unusable_bodies(service: Service, body: bytes, status: int, where: Any) -> None:
    answer = post(service, "/fhir", body)
    assert answer.status_code == status
    [(_, _, expression)] = issues(answer)
    if where is not None:
        assert expression == where


def test_other_media_types_are_415_and_json_is_accepted(service: Service) -> None:
    document = json.dumps(bundle(patient("p1", "MRN-1"))).encode()
    headers = service.headers(Role.clinician)
    xml = service.client.post(
        "/fhir", content=document, headers={**headers, "content-type": "application/fhir+xml"}
    )
    assert xml.status_code == 415
    assert issues(xml)[0][0] == "not-supported"
    plain = service.client.post(
        "/fhir", content=document, headers={**headers, "content-type": "application/json"}
    )
    assert plain.status_code == 200


def test_bodies_over_the_cap_are_413(database_url: str, valuesets_dir: Any) -> None:
    settings = settings_for(database_url, valuesets_dir, max_body_bytes=2000)
    with make_service(settings) as small:
        big = bundle(*(patient(f"p{i}", f"MRN-{i}") for i in range(20)))
        answer = post(small, "/fhir", big)
        assert answer.status_code == 413
        assert issues(answer)[0][0] == "too-costly"


@pytest.mark.parametrize("role", [Role.front_desk, None], ids=["front-desk", "anonymous"])
def test_only_clinicians_and_admins_import(service: Service, role: Role | None) -> None:
    headers = FHIR if role is None else {**FHIR, **service.headers(role)}
    before = snapshot(service.runtime)
    answer = service.client.post(
        "/fhir", content=json.dumps(bundle(patient("p", "M"))).encode(), headers=headers
    )
    assert answer.status_code == (401 if role is None else 403)
    assert issues(answer)[0][0] == ("login" if role is None else "forbidden")
    after = snapshot(service.runtime)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    assert post(service, "/fhir", bundle(), Role.admin).status_code == 200


def test_a_cookie_session_needs_the_csrf_token(service: Service) -> None:
    client = ApiClient(service.app)
    try:
        login = client.post(
            "/api/auth/login", json={"email": "clinician@clinic.example", "password": PASSWORD}
        )
        csrf = login.json()["csrf_token"]
        body = json.dumps(bundle(patient("p", "M"))).encode()
        refused = client.post("/fhir", content=body, headers=FHIR)
        assert refused.status_code == 403
        accepted = client.post("/fhir", content=body, headers={**FHIR, "x-csrf-token": csrf})
        assert accepted.status_code == 200
    finally:
        client.close()


# ------------------------------------------------------------------ POST /fhir/Patient


def test_create_a_patient_then_conflict_then_conditional_create(service: Service) -> None:
    made = post(service, "/fhir/Patient", patient("x", "MRN-7"), Role.front_desk)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert pid.startswith("patient-")
    number = pid.removeprefix("patient-")
    assert made.headers["location"] == f"/fhir/Patient/{pid}"
    assert made.headers["etag"] == 'W/"1"'
    api = service.client.get(f"/api/patients/{number}", headers=service.headers(Role.front_desk))
    assert api.json()["given_name"] == "Robin Q"
    twin = post(service, "/fhir/Patient", patient("y", "MRN-7"))
    assert twin.status_code == 409
    assert issues(twin)[0][1] == "conflict"
    assert "MRN-7" not in twin.text
    assert f"Patient/{pid}" in twin.json()["issue"][0]["diagnostics"]
    reused = post(
        service,
        "/fhir/Patient",
        patient("y", "MRN-7"),
        Role.clinician,
        {"if-none-exist": f"identifier={SYSTEM}|MRN-7"},
    )
    assert reused.status_code == 200
    assert reused.headers["location"] == f"/fhir/Patient/{pid}"


def test_an_invalid_patient_is_422_naming_each_field(service: Service) -> None:
    bad = {
        **patient("x", "M"),
        "birthDate": "04/02/1980",
        "gender": "xyz",
        "name": [{"given": ["A"]}],
    }
    before = snapshot(service.runtime)
    answer = post(service, "/fhir/Patient", bad)
    assert answer.status_code == 422
    assert [e for _, _, e in issues(answer)] == [["$.birthDate"]]  # R4B validation first
    fixed = {**bad, "birthDate": "1980-04-02"}
    answer = post(service, "/fhir/Patient", fixed)
    assert [e for _, _, e in issues(answer)] == [["$.name"], ["$.gender"]]
    assert "xyz" not in answer.text
    assert snapshot(service.runtime) == before
    wrong = post(
        service, "/fhir/Patient", patient("p", "M"), Role.clinician, {"if-none-exist": "name=x"}
    )
    assert wrong.status_code == 422


# ------------------------------------------------------------------ POST /fhir/QuestionnaireResponse


def test_an_intake_response_is_screened_and_stored(service: Service) -> None:
    made = post(service, "/fhir/Patient", patient("x", "MRN-1"), Role.front_desk).json()
    answers = {**intake(service.runtime.kb), "subject": {"reference": f"Patient/{made['id']}"}}
    created = post(service, "/fhir/QuestionnaireResponse", answers, Role.front_desk)
    assert created.status_code == 201, created.text
    with service.runtime.db.read() as tx:
        row = tx.scalars(select(Screening)).one()
    assert created.headers["location"] == f"/fhir/QuestionnaireResponse/screening-{row.id}"
    assert created.json()["id"] == f"screening-{row.id}"
    assert row.patient_id == int(made["id"].removeprefix("patient-"))
    assert row.decision == "eligible"


def test_an_imported_anticoagulant_fires_in_the_next_screening(service: Service) -> None:
    """The EHR's warfarin MedicationRequest (RxNorm 855332), imported, makes an intake
    that denies anticoagulants still fire contraindication.anticoagulant."""
    summary = post(
        service, "/fhir", bundle(patient("p1", "MRN-1"), warfarin_request("m", "Patient/p1"))
    )
    pid = summary.json()["entry"][0]["response"]["location"].split("/patient-")[1]
    answers = {**intake(service.runtime.kb), "subject": {"reference": f"Patient/{pid}"}}
    assert post(service, "/fhir/QuestionnaireResponse", answers).status_code == 201
    stored = service.client.get(
        "/api/screenings", params={"patient_id": pid}, headers=service.headers(Role.clinician)
    ).json()["items"][0]
    rules = [f["rule"] for f in stored["result"]["findings"]]
    assert "contraindication.anticoagulant" in rules
    assert stored["decision"] != "eligible"


@pytest.mark.parametrize(
    ("subject", "status"),
    [
        (None, 422),
        ({"reference": "Patient/999999"}, 404),
        ({"reference": "Patient/patient-999999"}, 404),
        ({"reference": "https://ehr.example/fhir/Patient/patient-999999"}, 404),
        ({"reference": "Patient/99999999999"}, 404),
        ({"reference": "Patient/abc"}, 422),
        ({"reference": "Patient/screening-1"}, 422),
        ({"reference": "Patient/patient-1-x"}, 422),
        ({"reference": "Practitioner/patient-1"}, 422),
        ({"reference": "patient-1"}, 422),
        ({"reference": 7}, 422),
        ({"display": "Robin"}, 422),
    ],
)
def test_intake_responses_without_a_known_patient(
    service: Service, subject: Any, status: int
) -> None:
    answers: dict[str, Any] = intake(service.runtime.kb)
    if subject is not None:
        answers["subject"] = subject
    before = snapshot(service.runtime)
    answer = post(service, "/fhir/QuestionnaireResponse", answers)
    assert answer.status_code == status
    [(_, _, where)] = issues(answer)
    if status == 422 and subject is not None and "reference" in subject:
        assert where == ["$.subject.reference"]
        assert str(subject["reference"]) not in answer.text
    after = snapshot(service.runtime)
    assert after["screenings"] == before["screenings"]


def test_a_patients_intake_through_a_link_also_screens_imported_records(service: Service) -> None:
    made = post(
        service, "/fhir", bundle(patient("p1", "MRN-1"), warfarin_request("m", "Patient/p1"))
    )
    pid = made.json()["entry"][0]["response"]["location"].split("/patient-")[1]
    link = service.client.post(
        f"/api/patients/{pid}/links",
        json={"purpose": "intake"},
        headers=service.headers(Role.front_desk),
    )
    assert link.status_code == 201, link.text
    sent = service.client.post(
        f"/api/p/{link.json()['token']}/intake", json=intake(service.runtime.kb)
    )
    assert sent.status_code == 201, sent.text
    stored = service.client.get(
        "/api/screenings", params={"patient_id": pid}, headers=service.headers(Role.clinician)
    ).json()["items"][0]
    assert "contraindication.anticoagulant" in [f["rule"] for f in stored["result"]["findings"]]


# ------------------------------------------------------------------ written, then read back


def get(service: Service, url: str, role: Role = Role.clinician) -> httpx.Response:
    return service.client.get(url, headers=service.headers(role))


def test_a_created_patient_reads_back_at_its_location(service: Service) -> None:
    made = post(service, "/fhir/Patient", patient("x", "MRN-7"), Role.front_desk)
    assert made.status_code == 201, made.text
    read = get(service, made.headers["location"])
    assert read.status_code == 200, read.text
    assert read.json() == made.json()  # the answer is the resource as the read side serves it
    assert read.json()["id"] == made.json()["id"]
    assert {"system": SYSTEM, "value": "MRN-7"} in read.json()["identifier"]
    reused = post(
        service,
        "/fhir/Patient",
        patient("y", "MRN-7"),
        Role.clinician,
        {"if-none-exist": f"identifier={SYSTEM}|MRN-7"},
    )
    assert get(service, reused.headers["location"]).json()["id"] == made.json()["id"]


def test_every_patient_of_a_transaction_reads_back_at_its_location(service: Service) -> None:
    document = bundle(patient("p1", "MRN-1"), condition("c1", "Patient/p1"), patient("p2", "MRN-2"))
    answer = post(service, "/fhir", document)
    assert answer.status_code == 200, answer.text
    locations = [e["response"].get("location") for e in answer.json()["entry"]]
    assert locations[1] is None
    for location, mrn in ((locations[0], "MRN-1"), (locations[2], "MRN-2")):
        read = get(service, f"/fhir/{location}")
        assert read.status_code == 200, read.text
        assert {"system": SYSTEM, "value": mrn} in read.json()["identifier"]


@pytest.mark.parametrize(
    "form", ["Patient/patient-{n}", "Patient/{n}", "https://x.example/fhir/Patient/patient-{n}"]
)
def test_an_intake_response_reads_back_with_its_findings(service: Service, form: str) -> None:
    made = post(service, "/fhir/Patient", patient("x", "MRN-1"), Role.front_desk).json()
    number = made["id"].removeprefix("patient-")
    answers = {
        **intake(service.runtime.kb, **{"needle-fear": "yes"}),  # absolute: not eligible
        "subject": {"reference": form.format(n=number)},
    }
    created = post(service, "/fhir/QuestionnaireResponse", answers, Role.front_desk)
    assert created.status_code == 201, created.text
    read = get(service, created.headers["location"], Role.front_desk)
    assert read.status_code == 200, read.text
    assert read.json() == created.json()
    assert read.json()["resourceType"] == "QuestionnaireResponse"
    assert read.json()["subject"]["reference"] == f"Patient/{made['id']}"
    found = get(service, f"/fhir/DetectedIssue?patient={made['id']}").json()
    assert found["total"] >= 1
    codes = [
        coding["code"]
        for entry in found["entry"]
        for coding in entry["resource"].get("code", {}).get("coding", [])
    ]
    assert any("needle-fear" in code for code in codes), codes
