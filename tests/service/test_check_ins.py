"""After-treatment check-ins through the API on both databases: recorded by staff and
through the patient's check-in link, triaged and stored with the knowledge stamp; the
hours since treatment filled in from the session; acknowledged once by a clinician; and a
check-in link opens its own patient only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from needlewise.errors import NotFound
from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.security.roles import Role
from needlewise.services.check_ins import record_check_in
from needlewise.services.links import open_link
from support.service import Service
from support.treatment import audit_rows, make_patient, ready_patient, session_body, user_ref

YES = [{"valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "Y"}}]
NO = [{"valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "N"}}]


def treated(service: Service, hours_ago: float, language: str = "en") -> tuple[int, int]:
    """(patient id, session id) of a session ``hours_ago`` hours ago."""
    patient, provider = ready_patient(service)
    if language != "en":
        etag = service.client.get(
            f"/api/patients/{patient}", headers=service.headers(Role.front_desk)
        ).headers["etag"]
        service.client.patch(
            f"/api/patients/{patient}",
            json={"preferred_language": language},
            headers={**service.headers(Role.front_desk), "if-match": etag},
        )
    performed = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, performed_at=performed),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    session_id: int = response.json()["id"]
    return patient, session_id


def link(service: Service, patient: int, purpose: str = "check-in", **fields: Any) -> str:
    response = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": purpose, **fields},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def test_staff_check_in_is_triaged_stored_and_audited(service: Service) -> None:
    patient = make_patient(service)
    front = service.headers(Role.front_desk)
    response = service.client.post(
        f"/api/patients/{patient}/check-ins",
        json={"symptoms": ["symptom.chest-pain"], "hours_since_treatment": 6.0},
        headers=front,
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["disposition"] == "emergency"
    assert out["result"]["reasons"][0]["rule"] == "symptom.chest-pain"
    assert out["result"]["knowledge"]["sha256"] == service.runtime.kb.sha256
    assert (out["result"]["hours_since_treatment"], out["result"]["hours_source"]) == (
        6.0,
        "report",
    )
    assert out["answers"] == {"symptoms": ["symptom.chest-pain"], "hours_since_treatment": 6.0}
    assert out["created_by"] == user_ref(service, Role.front_desk)
    assert (out["acknowledged_by"], out["acknowledged_at"]) == (None, None)

    read = service.client.get(f"/api/check-ins/{out['id']}", headers=front)
    assert read.status_code == 200
    assert read.headers["etag"] == response.headers["etag"]
    assert read.json() == out  # what the write returned is what was stored
    front_ref = user_ref(service, Role.front_desk)
    rows = [r for r in audit_rows(service, patient) if r[2] == "check-in"]
    assert rows == [
        (front_ref, "create", "check-in", str(out["id"])),
        (front_ref, "read", "check-in", str(out["id"])),
    ]


@pytest.mark.parametrize(
    ("hours_ago", "body", "disposition", "hours", "source"),
    [
        (10, {"symptoms": ["symptom.soreness"]}, "self-care", 10.0, "session"),
        (100, {"symptoms": ["symptom.soreness"]}, "call-provider", 100.0, "session"),
        (
            100,
            {"symptoms": ["symptom.soreness"], "hours_since_treatment": 5.0},
            "self-care",
            5.0,
            "report",
        ),
        (None, {"symptoms": ["symptom.soreness"]}, "call-provider", None, None),
    ],
    ids=["session 10 h ago", "session 100 h ago", "report wins", "no session: unknown"],
)
def test_hours_since_treatment_come_from_the_session(
    service: Service,
    hours_ago: float | None,
    body: dict[str, Any],
    disposition: str,
    hours: float | None,
    source: str | None,
) -> None:
    """escalation.soreness-beyond-72h: soreness after 72 h (or at an unknown time) is a call."""
    if hours_ago is None:
        patient, query = make_patient(service), ""
    else:
        patient, session_id = treated(service, hours_ago)
        query = f"?session_id={session_id}"
    response = service.client.post(
        f"/api/patients/{patient}/check-ins{query}",
        json=body,
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    result = response.json()["result"]
    assert result["disposition"] == disposition
    assert result["hours_source"] == source
    if hours is None:
        assert result["hours_since_treatment"] is None
    else:
        assert result["hours_since_treatment"] == pytest.approx(hours, abs=0.2)
    rules = {r["rule"] for r in result["reasons"]}
    assert ("escalation.soreness-beyond-72h" in rules) is (disposition == "call-provider")
    assert response.json()["answers"] == body  # stored as sent


def test_patient_checks_in_through_the_link_in_their_language(service: Service) -> None:
    patient, session_id = treated(service, 10, language="es")
    token = link(service, patient, session_id=session_id)

    questionnaire = service.client.get(f"/api/p/{token}/check-in-questionnaire")
    assert questionnaire.status_code == 200, questionnaire.text
    q = questionnaire.json()
    assert (q["resourceType"], q["language"]) == ("Questionnaire", "es")

    emergency = service.client.post(
        f"/api/p/{token}/check-in", json={"symptoms": ["symptom.breathing-trouble"]}
    )
    assert emergency.status_code == 201, emergency.text
    told = emergency.json()
    assert (told["disposition"], told["call_911"], told["language"]) == ("emergency", True, "es")
    assert "911" in told["advice"]
    assert told["reasons"][0]["rule"] == "symptom.breathing-trouble"
    assert told["clinic_phones"] == ["555-0100"]

    # the link can be used again until it expires; a QuestionnaireResponse works too, and
    # its missing time-since-treatment is filled in from the link's session
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": q["url"],
        "status": "completed",
        "item": [
            {
                "linkId": group["linkId"],
                "item": [
                    {
                        "linkId": item["linkId"],
                        "answer": YES if item["linkId"] == "symptom.soreness" else NO,
                    }
                    for item in group["item"]
                ],
            }
            for group in q["item"]
            if group["type"] == "group"
        ],
    }
    calm = service.client.post(f"/api/p/{token}/check-in", json=response)
    assert calm.status_code == 201, calm.text
    assert (calm.json()["disposition"], calm.json()["call_911"]) == ("self-care", False)
    assert "911" in calm.json()["advice"]  # every tier says when to call 911
    assert calm.json()["language"] == "es"

    staff = service.client.get(
        f"/api/check-ins?patient_id={patient}", headers=service.headers(Role.clinician)
    ).json()
    assert [c["disposition"] for c in staff["items"]] == ["self-care", "emergency"]
    stored = staff["items"][0]
    assert stored["session_id"] == session_id
    assert stored["created_by"].startswith("link:")
    assert stored["result"]["hours_source"] == "session"
    assert stored["result"]["hours_since_treatment"] == pytest.approx(10, abs=0.2)
    assert stored["answers"] == response  # what the patient sent, unchanged
    link_rows = [r for r in audit_rows(service, patient) if r[0].startswith("link:")]
    assert [r[1:3] for r in link_rows] == [
        ("read", "patient-link"),
        ("create", "check-in"),
        ("create", "check-in"),
    ]


def test_a_check_in_link_opens_its_own_patient_only(service: Service) -> None:
    alice = make_patient(service, "Alice")
    bob = make_patient(service, "Bob")
    token = link(service, alice)
    intake = link(service, alice, "intake")

    # through the service: the link's actor cannot write for another patient
    actor = open_link(service.runtime, token, "check-in", "203.0.113.7")
    with pytest.raises(NotFound):
        record_check_in(service.runtime, actor, bob, {"symptoms": []})
    # through HTTP: the token is not a staff credential, and other purposes do not open
    bearer = {"authorization": f"Bearer {token}"}
    assert (
        service.client.post(f"/api/patients/{bob}/check-ins", json={}, headers=bearer).status_code
        == 401
    )
    assert service.client.get(f"/api/check-ins?patient_id={bob}", headers=bearer).status_code == 401
    assert service.client.post(f"/api/p/{intake}/check-in", json={}).status_code == 404
    assert service.client.post(f"/api/p/{token}x/check-in", json={}).status_code == 404
    assert service.client.get(f"/api/p/{intake}/check-in-questionnaire").status_code == 404

    ok = service.client.post(f"/api/p/{token}/check-in", json={"symptoms": []})
    assert ok.status_code == 201
    listing = service.client.get("/api/check-ins", headers=service.headers(Role.admin)).json()
    assert [c["patient_id"] for c in listing["items"]] == [alice]


def test_a_revoked_link_is_gone(service: Service) -> None:
    patient = make_patient(service)
    created = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "check-in"},
        headers=service.headers(Role.front_desk),
    ).json()
    revoked = service.client.post(
        f"/api/links/{created['id']}/revoke", headers=service.headers(Role.front_desk)
    )
    assert revoked.status_code == 200
    response = service.client.post(f"/api/p/{created['token']}/check-in", json={})
    assert response.status_code == 410


def test_acknowledge_once_by_a_clinician(service: Service) -> None:
    patient = make_patient(service)
    created = service.client.post(
        f"/api/patients/{patient}/check-ins",
        json={"symptoms": ["symptom.fever"]},
        headers=service.headers(Role.front_desk),
    )
    cid, etag = created.json()["id"], created.headers["etag"]
    url = f"/api/check-ins/{cid}/acknowledge"
    clinician = service.headers(Role.clinician)

    for role in (Role.front_desk, Role.admin):
        denied = service.client.post(url, headers={**service.headers(role), "if-match": etag})
        assert denied.status_code == 403
    assert service.client.post(url, headers=clinician).status_code == 428
    stale = service.client.post(url, headers={**clinician, "if-match": f'"check-in-{cid}-v0"'})
    assert stale.status_code == 412

    queue = service.client.get("/api/check-ins?unacknowledged=true", headers=clinician).json()
    assert [c["id"] for c in queue["items"]] == [cid]
    done = service.client.post(url, headers={**clinician, "if-match": etag})
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged_by"] == service.users[Role.clinician].id
    assert done.json()["acknowledged_at"] is not None
    again = service.client.post(url, headers={**clinician, "if-match": done.headers["etag"]})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"

    queue = service.client.get("/api/check-ins?unacknowledged=true", headers=clinician).json()
    assert queue["total"] == 0
    seen = service.client.get("/api/check-ins?unacknowledged=false", headers=clinician).json()
    assert [c["id"] for c in seen["items"]] == [cid]
    assert (user_ref(service, Role.clinician), "acknowledge", "check-in", str(cid)) in audit_rows(
        service, patient
    )


def test_list_filters_by_disposition(service: Service) -> None:
    patient = make_patient(service)
    front = service.headers(Role.front_desk)
    for symptoms in (["symptom.chest-pain"], ["symptom.bruising"], []):
        service.client.post(
            f"/api/patients/{patient}/check-ins",
            json={"symptoms": symptoms, "hours_since_treatment": 3.0},
            headers=front,
        )
    urgent = service.client.get("/api/check-ins?disposition=emergency", headers=front).json()
    assert urgent["total"] == 1
    assert service.client.get("/api/check-ins?disposition=bad", headers=front).status_code == 422
    page = service.client.get("/api/check-ins?limit=2", headers=front).json()
    assert (page["total"], len(page["items"])) == (3, 2)


@pytest.mark.parametrize(
    ("body", "query", "location"),
    [
        ({"symptoms": ["symptom.unicorn"]}, "", "$.symptoms[0]"),
        ({"temperature": {"value": 38.2, "unit": "K"}}, "", "$.temperature"),
        ({"resourceType": "Patient"}, "", "$.resourceType"),
        ({"symptoms": []}, "?session_id=999999", "session_id"),
    ],
)
def test_bad_check_ins_change_nothing(
    service: Service, body: dict[str, Any], query: str, location: str
) -> None:
    patient = make_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/check-ins{query}",
        json=body,
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == location
    listing = service.client.get("/api/check-ins", headers=service.headers(Role.admin)).json()
    assert listing["total"] == 0


# ---------------------------------------------------------------- the patient's conditions


def screened(service: Service, yes: frozenset[str]) -> int:
    """A patient screened through the API with ``yes`` answered the way that fires them."""
    patient = make_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/screenings?electrical_stimulation=false",
        json=answered_intake(service.runtime.kb, yes),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    return patient


FEVER = {"temperature": {"value": 38.6, "unit": "Cel"}, "hours_since_treatment": 30.0}
KNEE_SWELLING = {
    "symptoms": ["symptom.site-swelling"],
    "treated_regions": ["region.thigh-knee"],
    "hours_since_treatment": 50.0,
}


@pytest.mark.parametrize(
    ("yes", "body", "disposition", "fired"),
    [
        (
            {"contraindication.immunocompromised"},
            FEVER,
            "emergency",
            "escalation.fever-weak-immunity",
        ),
        ({"contraindication.malignancy"}, FEVER, "emergency", "escalation.fever-weak-immunity"),
        (set(), FEVER, "call-provider", None),
        (
            {"contraindication.joint-replacement"},
            KNEE_SWELLING,
            "emergency",
            "escalation.joint-replacement-site-pain",
        ),
        ({"contraindication.diabetes"}, KNEE_SWELLING, "call-provider", None),
    ],
    ids=["fever-immunocompromised", "fever-cancer", "fever-clear", "knee-joint", "knee-other"],
)
def test_check_in_weighs_the_latest_screening(
    service: Service, yes: set[str], body: dict[str, Any], disposition: str, fired: str | None
) -> None:
    """A check-in knows the patient's conditions from their latest screening."""
    patient = screened(service, frozenset(yes))
    response = service.client.post(
        f"/api/patients/{patient}/check-ins", json=body, headers=service.headers(Role.clinician)
    )
    assert response.status_code == 201, response.text
    result = response.json()["result"]
    assert result["disposition"] == disposition
    rules = [r["rule"] for r in result["reasons"]]
    assert "policy.conditions-unknown" not in rules  # the history is known
    if fired:
        assert fired in rules
    assert {c["condition"] for c in result["conditions"]} == yes
    assert all(c["where"].startswith("screening ") for c in result["conditions"])


def test_check_in_without_a_screening_says_the_history_is_unknown(service: Service) -> None:
    patient = make_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/check-ins", json=FEVER, headers=service.headers(Role.clinician)
    )
    result = response.json()["result"]
    assert result["disposition"] == "call-provider"
    assert "policy.conditions-unknown" in [r["rule"] for r in result["reasons"]]
    assert result["conditions"] is None
    assert "immune system is weak" in result["advice"]


def test_only_the_latest_screening_counts(service: Service) -> None:
    """A later screening without the condition replaces an earlier one with it."""
    patient = screened(service, frozenset({"contraindication.immunocompromised"}))
    later = service.client.post(
        f"/api/patients/{patient}/screenings?electrical_stimulation=false",
        json=answered_intake(service.runtime.kb),
        headers=service.headers(Role.clinician),
    )
    assert later.status_code == 201, later.text
    response = service.client.post(
        f"/api/patients/{patient}/check-ins", json=FEVER, headers=service.headers(Role.clinician)
    )
    result = response.json()["result"]
    assert result["disposition"] == "call-provider"
    assert result["conditions"] == []
