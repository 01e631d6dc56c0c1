"""The facade over HTTP: CapabilityStatement, reads, searches with paging, errors as
OperationOutcomes (right status, nothing of the patient echoed), roles and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from needlewise.security.roles import Role
from support.audit import entries_after, last_id
from support.fhir import IDENTIFIER_SYSTEM, FhirWorld, validate_r4b

FHIR_JSON = "application/fhir+json"


def get(world: FhirWorld, path: str, role: Role | None = Role.admin, **kwargs: Any) -> Any:
    headers = world.service.headers(role) if role is not None else {}
    return world.service.client.get(
        path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs
    )


def outcome(response: Any, status: int) -> dict[str, Any]:
    """The response's OperationOutcome, checked: status, media type, R4B-valid."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    OperationOutcome.model_validate(body)
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_metadata_states_what_is_supported(fhir_world: FhirWorld) -> None:
    response = fhir_world.service.client.get("/fhir/metadata")  # no token needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert rest["mode"] == "server"
    assert rest["interaction"] == [{"code": "transaction"}]
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == {
        "Questionnaire", "Patient", "QuestionnaireResponse", "Consent", "Provenance",
        "Procedure", "AdverseEvent", "Observation", "DetectedIssue", "Communication",
    }  # fmt: skip
    for name, resource in resources.items():
        codes = [i["code"] for i in resource["interaction"]]
        creates = name in ("Patient", "QuestionnaireResponse")
        assert codes == ["read", "search-type", *(["create"] if creates else [])], name
    patient_params = {p["name"]: p["type"] for p in resources["Patient"]["searchParam"]}
    assert patient_params == {"_id": "token", "identifier": "token"}
    params = {p["name"]: p["type"] for p in resources["Procedure"]["searchParam"]}
    assert params == {"_id": "token", "patient": "reference", "date": "date"}
    assert {p["name"] for p in resources["DetectedIssue"]["searchParam"]} == {
        "_id", "patient", "identified",
    }  # fmt: skip


def test_read_answers_fhir_json(fhir_world: FhirWorld) -> None:
    session = fhir_world.records.session
    response = get(fhir_world, f"/fhir/Procedure/session-{session}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    validate_r4b(response.json())
    assert response.json()["id"] == f"session-{session}"
    for accepted in ("application/fhir+json", "application/json", "*/*", "text/html, */*;q=0.8"):
        assert (
            get(
                fhir_world, "/fhir/Questionnaire/needlewise-intake", headers={"accept": accepted}
            ).status_code
            == 200
        )
    for fmt in ("json", "application/fhir+json", "application/fhir+json;fhirVersion=4.0"):
        assert get(fhir_world, "/fhir/metadata", params={"_format": fmt}).status_code == 200


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ({"_format": "xml"}, {}),
        ({}, {"accept": "application/fhir+xml"}),
        ({}, {"accept": "text/html"}),
    ],
)
def test_other_formats_are_not_acceptable(
    fhir_world: FhirWorld, query: dict[str, str], headers: dict[str, str]
) -> None:
    body = outcome(get(fhir_world, "/fhir/Patient", params=query, headers=headers), 406)
    assert body["issue"][0]["code"] == "not-supported"


def test_without_a_token_401(fhir_world: FhirWorld) -> None:
    body = outcome(
        get(fhir_world, f"/fhir/Patient/patient-{fhir_world.records.patient}", None), 401
    )
    assert body["issue"][0]["code"] == "login"
    outcome(get(fhir_world, "/fhir/Procedure", None, headers={"authorization": "Bearer nope"}), 401)


@pytest.mark.parametrize(
    "path", ["/fhir/Procedure", "/fhir/AdverseEvent", "/fhir/Procedure/session-{session}"]
)
def test_front_desk_reads_no_treatment_records(fhir_world: FhirWorld, path: str) -> None:
    before = last_id(fhir_world.service)
    url = path.format(session=fhir_world.records.session)
    body = outcome(get(fhir_world, url, Role.front_desk), 403)
    assert body["issue"][0]["code"] == "forbidden"
    entries = entries_after(fhir_world.service, before)
    assert [(e["outcome"], e["reason"]) for e in entries] == [("denied", "forbidden")]


def test_front_desk_sees_only_the_observations_its_role_reads(fhir_world: FhirWorld) -> None:
    bundle = get(fhir_world, "/fhir/Observation?_count=100", Role.front_desk).json()
    found = {e["resource"]["id"] for e in bundle["entry"]}
    assert found
    assert all(i.startswith("check-in-") for i in found)
    clinician = get(fhir_world, "/fhir/Observation?_count=100", Role.clinician).json()
    assert any(e["resource"]["id"].startswith("session-") for e in clinician["entry"])


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Basic/1",
        "/fhir/Basic",
        "/fhir/Patient/12345",
        "/fhir/Patient/patient-999999",
        "/fhir/Procedure/patient-{patient}",
        "/fhir/Patient/patient-{other}",
        "/fhir/Questionnaire/other",
        "/fhir/Patient/" + "x" * 300,
        "/fhir/" + "T" * 300,
        "/fhir/Patient/patient-{patient}/_history",
    ],
)
def test_not_found_is_an_outcome_echoing_nothing(fhir_world: FhirWorld, path: str) -> None:
    url = path.format(patient=fhir_world.records.patient, other=fhir_world.other_patient)
    body = outcome(get(fhir_world, url), 404)
    text = str(body)
    for secret in ("Elsewhere", "Fhira", "Synthetic", "555-0142"):
        assert secret not in text


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("date=yesterday", "date"),
        ("date=2026-13-01", "date"),
        ("date=sa2026-01-01", "date"),
        ("date=2026-01-01T10:00", "date"),
        ("name=Fhira", "name"),
        ("_count=-1", "_count"),
        ("_count=ten", "_count"),
        ("_offset=x", "_offset"),
        ("patient=Fhira", "patient"),
        ("patient=Patient/patient-1&patient=Patient/patient-2", "patient"),
        ("_sort=date", "_sort"),
    ],
)
def test_a_bad_search_is_400_naming_the_parameter(
    fhir_world: FhirWorld, query: str, parameter: str
) -> None:
    body = outcome(get(fhir_world, f"/fhir/Procedure?{query}"), 400)
    assert body["issue"][0]["expression"] == [parameter]
    assert "Fhira" not in str(body)


def test_patient_takes_no_patient_parameter(fhir_world: FhirWorld) -> None:
    outcome(get(fhir_world, "/fhir/Patient?patient=patient-1"), 400)
    outcome(get(fhir_world, "/fhir/Communication?date=2026"), 400)  # its date is "sent"


def test_patients_by_identifier(fhir_world: FhirWorld) -> None:
    records = fhir_world.records
    mine = [f"patient-{records.patient}"]
    own = f"{fhir_world.service.runtime.kb.data.meta.canonical_base}/patient-id"
    table = [
        (f"{IDENTIFIER_SYSTEM}|MRN-0001", mine),
        ("MRN-0001", mine),
        ("|MRN-0001", []),  # no system: ours has one
        (f"{IDENTIFIER_SYSTEM}|MRN-0002", []),
        (f"{own}|{records.patient}", mine),
        (f"{own}|{fhir_world.other_patient}", []),  # another clinic's
        (f"{own}|99999999999", []),
    ]
    for value, expected in table:
        found = get(fhir_world, "/fhir/Patient", params={"identifier": value}).json()
        assert ids_of(found) == expected, value
    outcome(get(fhir_world, "/fhir/Patient", params={"identifier": "sys|"}), 400)
    outcome(get(fhir_world, "/fhir/Procedure", params={"identifier": "MRN-0001"}), 400)


def ids_of(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def test_search_by_patient_id_and_date(fhir_world: FhirWorld) -> None:
    records = fhir_world.records
    patient = f"Patient/patient-{records.patient}"
    mine = get(fhir_world, f"/fhir/DetectedIssue?patient={patient}").json()
    assert {e["resource"]["patient"]["reference"] for e in mine["entry"]} == {patient}
    other = get(
        fhir_world, f"/fhir/DetectedIssue?patient=patient-{fhir_world.records.other}"
    ).json()
    assert ids_of(other) == [f"screening-{records.screenings[2]}-unanswered-1"]
    # another clinic's patient: no match, never an error that tells it exists
    assert (
        get(fhir_world, f"/fhir/Consent?patient=patient-{fhir_world.other_patient}").json()["total"]
        == 0
    )
    by_id = get(fhir_world, f"/fhir/Observation?_id=session-{records.session}-nprs-after").json()
    assert ids_of(by_id) == [f"session-{records.session}-nprs-after"]
    assert get(fhir_world, "/fhir/Observation?_id=unknown").json()["total"] == 0
    assert get(fhir_world, "/fhir/Patient?_id=patient-999999").json()["total"] == 0

    # the day the session was performed (it was recorded hours ago: just after midnight
    # UTC that is yesterday, not today)
    procedure = get(fhir_world, f"/fhir/Procedure/session-{records.session}").json()
    today = datetime.fromisoformat(procedure["performedDateTime"]).astimezone(UTC).date()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    table = [
        (f"date={today.isoformat()}", 1),
        (f"date=eq{today.isoformat()[:7]}", 1),
        (f"date=ge{yesterday.isoformat()}", 1),
        (f"date=gt{tomorrow.isoformat()}", 0),
        (f"date=lt{yesterday.isoformat()}", 0),
        (f"date=le{today.isoformat()}", 1),
        (f"date=ge{yesterday.isoformat()}&date=lt{yesterday.isoformat()}", 0),
        (f"date=lt{tomorrow.isoformat()}T00:00:00Z", 1),
        (f"date=lt{today.isoformat()}T00:00:00%2B00:00", 0),
    ]
    for query, expected in table:
        assert get(fhir_world, f"/fhir/Procedure?{query}").json()["total"] == expected, query


def test_paging_walks_every_page_without_duplicates_or_gaps(fhir_world: FhirWorld) -> None:
    everything = ids_of(get(fhir_world, "/fhir/QuestionnaireResponse?_count=100").json())
    assert len(everything) >= 6
    seen: list[str] = []
    url: str | None = "/fhir/QuestionnaireResponse?_count=2"
    pages = 0
    while url is not None:
        bundle = get(fhir_world, url).json()
        assert bundle["total"] == len(everything)
        seen.extend(ids_of(bundle))
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert links["self"].startswith("https://test/fhir/QuestionnaireResponse?_count=2")
        assert ("previous" in links) == (pages > 0)
        url = links.get("next")
        pages += 1
    assert seen == everything
    assert pages == (len(everything) + 1) // 2
    summary = get(fhir_world, "/fhir/QuestionnaireResponse?_count=0").json()
    assert summary["total"] == len(everything)
    assert "entry" not in summary or summary["entry"] == []
    capped = get(fhir_world, "/fhir/QuestionnaireResponse?_count=1000").json()
    assert len(ids_of(capped)) == len(everything)  # read as 100


def test_reads_and_searches_are_audited_like_the_json_api(fhir_world: FhirWorld) -> None:
    service, records = fhir_world.service, fhir_world.records
    clinician = service.users[Role.clinician].id
    before = last_id(service)
    assert (
        get(fhir_world, f"/fhir/Procedure/session-{records.session}", Role.clinician).status_code
        == 200
    )
    [entry] = entries_after(service, before)
    assert (entry["actor"], entry["action"], entry["resource_type"], entry["resource_id"]) == (
        f"user:{clinician}", "read", "session", str(records.session),
    )  # fmt: skip
    assert entry["patient_id"] == records.patient
    assert entry["outcome"] == "ok"

    before = last_id(service)
    bundle = get(
        fhir_world, f"/fhir/DetectedIssue?patient=patient-{records.patient}", Role.clinician
    ).json()
    assert bundle["total"] >= 1
    entries = entries_after(service, before)
    # one entry per stored screening returned (a screening's findings share its entry)
    screenings = {r["resource"]["id"].split("-")[1] for r in bundle["entry"]}
    assert sorted(e["resource_id"] for e in entries) == sorted(screenings)
    assert {e["resource_type"] for e in entries} == {"screening"}

    before = last_id(service)
    get(fhir_world, "/fhir/Consent?patient=patient-999999", Role.clinician)
    assert entries_after(service, before) == []  # nothing returned, nothing read
