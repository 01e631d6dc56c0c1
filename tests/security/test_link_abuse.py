"""Issue 9, finding 2: a leaked check-in link is no spam cannon (both databases).

Attacks through one patient link, as a holder of a leaked link would send them:

* a flood of 200 identical emergencies at once is stored once: one flagged check-in
  counting the repeats, while every sender is still told to call 911;
* a flood of different emergencies is rate-limited per link: past the limit the rest get
  429 with Retry-After, their own triage and 911 advice, are counted on the check-in the
  clinic already has, and each refusal is audited;
* a submission more urgent than anything unacknowledged still gets through the limit,
  and the limit also counts all of a patient's links together;
* a huge body of unknown fields, unknown linkIds, oversize answers and free text, ids
  listed again and again, and deep nesting are refused with the JSON path, and nothing
  is stored (through the link and the staff route alike).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from needlewise.interop.fhir.canonical import YES_NO_SYSTEM
from needlewise.persistence.models import AuditEntry, CheckIn
from needlewise.security.roles import Role
from support.http import asgi_client
from support.service import Service
from support.treatment import make_patient, ready_patient

YES = [{"valueCoding": {"system": YES_NO_SYSTEM, "code": "Y"}}]
EMERGENCY = {"symptoms": ["symptom.chest-pain"], "hours_since_treatment": 6.0}
LINK_LIMIT = 4  # NEEDLEWISE_CHECK_IN_LINK_LIMIT's default
PATIENT_LIMIT = 8  # NEEDLEWISE_CHECK_IN_PATIENT_LIMIT's default


def link(service: Service, patient: int) -> str:
    response = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "check-in"},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def at_once(service: Service, url: str, bodies: list[Any]) -> list[httpx.Response]:
    """POST every body at the same time (one connection each, as a script would)."""

    async def send() -> list[httpx.Response]:
        async with asgi_client(service.app, remote=("198.51.100.66", 50000)) as client:
            return await asyncio.gather(*(client.post(url, json=body) for body in bodies))

    return asyncio.run(send())


def stored(service: Service, patient: int) -> int:
    with service.runtime.db.read() as session:
        return (
            session.scalar(
                select(func.count()).select_from(CheckIn).where(CheckIn.patient_id == patient)
            )
            or 0
        )


def queue(service: Service, patient: int) -> httpx.Response:
    """The clinician's list of this patient's check-ins."""
    return service.client.get(
        f"/api/check-ins?patient_id={patient}", headers=service.headers(Role.clinician)
    )


def told_to_call_911(body: dict[str, Any]) -> None:
    assert body["disposition"] == "emergency", body
    assert body["call_911"] is True
    assert "911" in body["advice"]


def test_a_flood_of_identical_emergencies_is_one_flagged_check_in(service: Service) -> None:
    patient = make_patient(service)
    responses = at_once(service, f"/api/p/{link(service, patient)}/check-in", [EMERGENCY] * 200)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 199 + [201], statuses
    bodies = [r.json() for r in responses]
    for body in bodies:
        told_to_call_911(body)  # every sender is told what to do
    assert {b["id"] for b in bodies} == {bodies[0]["id"]}
    repeats = [b for b in bodies if b["received"] == "repeat"]
    assert len(repeats) == 199
    assert all(b["notice"] and "already has" in b["notice"] for b in repeats)

    assert stored(service, patient) == 1
    listing = queue(service, patient)
    assert listing.status_code == 200
    page = listing.json()
    assert page["total"] == 1
    (only,) = page["items"]
    assert (only["flagged"], only["repeat_count"], only["refused_count"]) == (True, 199, 0)
    assert only["last_seen_at"] is not None
    assert len(listing.content) < 20_000  # not megabytes of repeats
    flagged = service.client.get(
        "/api/check-ins?flagged=true", headers=service.headers(Role.clinician)
    ).json()
    assert [c["id"] for c in flagged["items"]] == [only["id"]]


def test_a_flood_of_different_emergencies_is_rate_limited(service: Service) -> None:
    patient = make_patient(service)
    bodies = [{**EMERGENCY, "hours_since_treatment": float(hours)} for hours in range(1, 31)]
    responses = at_once(service, f"/api/p/{link(service, patient)}/check-in", bodies)

    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(created), len(refused)) == (LINK_LIMIT, 30 - LINK_LIMIT)
    for response in refused:
        assert 1 <= int(response.headers["retry-after"]) <= 3600
        body = response.json()
        told_to_call_911(body)  # refused, yet told what to do
        assert body["received"] == "not-stored"
        assert "911" in body["notice"]
        assert body["error"]["code"] == "too-many-requests"
        assert body["id"] in {r.json()["id"] for r in created}  # the one the clinic has

    assert stored(service, patient) == LINK_LIMIT
    items = queue(service, patient).json()["items"]
    assert sum(c["refused_count"] for c in items) == 30 - LINK_LIMIT
    assert any(c["flagged"] for c in items)
    with service.runtime.db.read() as session:
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.patient_id == patient,
                AuditEntry.resource_type == "check-in",
                AuditEntry.outcome == "refused",
            )
        )
    assert audited == 30 - LINK_LIMIT


def test_a_more_urgent_check_in_gets_through_the_limit(service: Service) -> None:
    patient, _provider = ready_patient(service)
    url = f"/api/p/{link(service, patient)}/check-in"
    soreness = [
        {"symptoms": ["symptom.soreness"], "hours_since_treatment": float(h)} for h in range(1, 7)
    ]
    answers = [service.client.post(url, json=body) for body in soreness]
    assert [r.status_code for r in answers] == [201] * LINK_LIMIT + [429] * 2
    assert {r.json()["disposition"] for r in answers} == {"self-care"}

    urgent = service.client.post(url, json=EMERGENCY)
    assert urgent.status_code == 201, urgent.text  # never held back
    told_to_call_911(urgent.json())
    again = service.client.post(url, json={**EMERGENCY, "hours_since_treatment": 7.0})
    assert again.status_code == 429  # the clinic has an unacknowledged emergency already
    told_to_call_911(again.json())
    assert stored(service, patient) == LINK_LIMIT + 1
    newest = queue(service, patient).json()["items"][0]
    assert (newest["disposition"], newest["flagged"]) == ("emergency", True)


def test_the_limit_counts_every_link_of_the_patient(service: Service) -> None:
    patient = make_patient(service)
    for first in range(0, PATIENT_LIMIT, LINK_LIMIT):
        url = f"/api/p/{link(service, patient)}/check-in"
        for hours in range(first, first + LINK_LIMIT):
            body = {**EMERGENCY, "hours_since_treatment": float(hours)}
            assert service.client.post(url, json=body).status_code == 201
    fresh = service.client.post(
        f"/api/p/{link(service, patient)}/check-in",
        json={**EMERGENCY, "hours_since_treatment": 99.0},
    )
    assert fresh.status_code == 429, fresh.text
    assert stored(service, patient) == PATIENT_LIMIT


def test_an_acknowledged_check_in_does_not_swallow_a_new_one(service: Service) -> None:
    patient = make_patient(service)
    url = f"/api/p/{link(service, patient)}/check-in"
    first = service.client.post(url, json=EMERGENCY)
    assert service.client.post(url, json=EMERGENCY).status_code == 200  # a repeat
    check_in = service.client.get(
        f"/api/check-ins/{first.json()['id']}", headers=service.headers(Role.clinician)
    )
    acknowledged = service.client.post(
        f"/api/check-ins/{first.json()['id']}/acknowledge",
        headers={**service.headers(Role.clinician), "if-match": check_in.headers["etag"]},
    )
    assert acknowledged.status_code == 200, acknowledged.text
    later = service.client.post(url, json=EMERGENCY)
    assert later.status_code == 201  # seen already: the same answers again are news
    assert stored(service, patient) == 2


# ------------------------------------------------------------------ what may be stored


def response(*items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": list(items),
        **fields,
    }


def chest_pain(**fields: Any) -> dict[str, Any]:
    return {"linkId": "symptom.chest-pain", "answer": YES, **fields}


def nested(depth: int) -> dict[str, Any]:
    item: dict[str, Any] = chest_pain()
    for _ in range(depth):
        item = {"linkId": "group.emergency", "item": [item]}
    return item


REFUSED: list[tuple[str, Any, str]] = [
    ("4 MB of unknown fields", response(chest_pain(), junk="x" * 4_000_000), "$.junk"),
    ("unknown field in an item", response(chest_pain(note="x" * 1000)), "$.item[0].note"),
    (
        "unknown field in an answer",
        response({"linkId": "symptom.chest-pain", "answer": [{**YES[0], "valueString": "x"}]}),
        "$.item[0].answer[0].valueString",
    ),
    (
        "unknown linkId",
        response(chest_pain(), {"linkId": "my-own-question", "answer": [{"valueString": "x"}]}),
        "$.item[1].linkId",
    ),
    (
        "free text over 5000 characters",
        response({"linkId": "details", "answer": [{"valueString": "I feel fine. " * 400}]}),
        "$.item[0].answer[0].valueString",
    ),
    (
        "an oversize coding",
        response(
            {
                "linkId": "symptom.chest-pain",
                "answer": [{"valueCoding": {"code": "Y", "display": "x" * 100_000}}],
            }
        ),
        "$.item[0].answer[0].valueCoding.display",
    ),
    (
        "a thousand region answers",
        response(
            {
                "linkId": "treated-regions",
                "answer": [{"valueCoding": {"code": "upper-back"}}] * 1000,
            }
        ),
        "$.item[0].answer",
    ),
    # 40 levels: past what the Questionnaire asks (2), within the JSON depth limit (200,
    # tests/security/test_input_limits.py covers deeper documents on every door)
    ("deep nesting", response(nested(40)), "$.item[0].item[0]"),
    (
        "a symptom listed again and again",
        {"symptoms": ["symptom.chest-pain"] * 100_000},
        "$.symptoms[1]",
    ),
]


@pytest.mark.parametrize("door", ["link", "staff"])
@pytest.mark.parametrize(
    ("body", "location"), [(b, loc) for _, b, loc in REFUSED], ids=[n for n, _, _ in REFUSED]
)
def test_a_check_in_holds_only_what_the_questionnaire_asks(
    service: Service, door: str, body: Any, location: str
) -> None:
    patient = make_patient(service)
    if door == "link":
        sent = service.client.post(f"/api/p/{link(service, patient)}/check-in", json=body)
    else:
        sent = service.client.post(
            f"/api/patients/{patient}/check-ins",
            json=body,
            headers=service.headers(Role.front_desk),
        )
    assert sent.status_code == 422, sent.text[:300]
    error = sent.json()["error"]
    assert (error["code"], error["location"]) == ("invalid-input", location)
    assert len(sent.content) < 2000  # the refusal does not echo the body back
    assert stored(service, patient) == 0


def test_the_questionnaire_s_own_shape_is_stored_as_sent(service: Service) -> None:
    """What the patient page sends (groups, answers, a temperature, the time, regions and
    a few words) is accepted and stored unchanged."""
    patient = make_patient(service)
    body = response(
        {"linkId": "group.emergency", "text": "Signs of an emergency", "item": [chest_pain()]},
        {
            "linkId": "temperature",
            "answer": [
                {
                    "valueQuantity": {
                        "value": 37.1,
                        "unit": "°C",
                        "system": "http://unitsofmeasure.org",
                        "code": "Cel",
                    }
                }
            ],
        },
        {"linkId": "time-since-treatment", "answer": [{"valueCoding": {"code": "under-24-hours"}}]},
        {"linkId": "treated-regions", "answer": [{"valueCoding": {"code": "upper-back"}}]},
        {"linkId": "details", "answer": [{"valueString": "Tight chest since this morning"}]},
        id="qr-1",
        authored="2026-12-01T20:00:00Z",
        language="en",
    )
    sent = service.client.post(f"/api/p/{link(service, patient)}/check-in", json=body)
    assert sent.status_code == 201, sent.text
    told_to_call_911(sent.json())
    (only,) = queue(service, patient).json()["items"]
    assert only["answers"] == body
