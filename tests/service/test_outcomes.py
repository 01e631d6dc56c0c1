"""Outcome scores through the API on both databases: scored by the measure's method,
judged against the baseline per stored MCID, bad input refused naming the field (and
audited, nothing stored), permissions as for sessions, and the questionnaire due by
the regions needled (NDI neck, ODI lower back, PSFS otherwise) at the first session and
every ``outcome_every_sessions`` sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from needlewise.persistence.models import OutcomeScore
from needlewise.security.roles import Role
from support.fhir import aftercare_response
from support.service import Service
from support.treatment import audit_rows, ready_patient, session_body, user_ref

NDI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "reading", "headaches",
    "concentration", "work", "driving", "sleeping", "recreation",
]  # fmt: skip
ODI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "walking", "sitting",
    "standing", "sleeping", "sex-life", "social-life", "travelling",
]  # fmt: skip


def ndi(scores: Sequence[int | None], **fields: Any) -> dict[str, Any]:
    return {
        "measure": "measure.ndi",
        "items": [{"key": k, "score": s} for k, s in zip(NDI_KEYS, scores, strict=True)],
        **fields,
    }


def post(service: Service, patient: int, body: Any, role: Role = Role.clinician) -> Any:
    return service.client.post(
        f"/api/patients/{patient}/outcomes", json=body, headers=service.headers(role)
    )


def record_session(
    service: Service, patient: int, provider: int, muscles: list[str], hours_ago: float, **f: Any
) -> int:
    body = session_body(provider, **f)
    body["muscles"] = [{"muscle": m, "laterality": "left", "needle_count": 1} for m in muscles]
    body["performed_at"] = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    response = service.client.post(
        f"/api/patients/{patient}/sessions", json=body, headers=service.headers(Role.clinician)
    )
    assert response.status_code == 201, response.text
    session_id: int = response.json()["id"]
    return session_id


def stored(service: Service) -> int:
    with service.runtime.db.read() as tx:
        return tx.scalar(select(func.count()).select_from(OutcomeScore)) or 0


def test_ndi_scored_judged_per_mcid_and_audited(service: Service) -> None:
    patient, provider = ready_patient(service)
    session = record_session(service, patient, provider, ["upper-trapezius"], 30)
    base = post(service, patient, ndi([2] * 10, session_id=session))
    assert base.status_code == 201, base.text
    first = base.json()
    assert (first["score"], first["percent"], first["judgement"]) == (20.0, 40.0, None)
    assert first["created_by"] == user_ref(service, Role.clinician)
    performed = service.client.get(
        f"/api/sessions/{session}", headers=service.headers(Role.clinician)
    ).json()["performed_at"]
    assert datetime.fromisoformat(first["recorded_at"]) == datetime.fromisoformat(performed)

    later = post(service, patient, ndi([1] * 10)).json()  # 10 points, 20 percentage points
    assert later["score"] == 10.0
    verdicts = {m["source"]: m["verdict"] for m in later["judgement"]["mcids"]}
    assert verdicts == {"source.ndi-responsiveness": "improved", "source.cleland-2008": "improved"}
    assert later["judgement"]["change"] == -10.0

    little = post(service, patient, ndi([1] * 6 + [2] * 4)).json()  # 14: 6 points, 12 pp
    verdicts = {m["source"]: m["verdict"] for m in little["judgement"]["mcids"]}
    assert verdicts == {"source.ndi-responsiveness": "within", "source.cleland-2008": "within"}
    mcid = little["judgement"]["mcids"][0]
    assert mcid["population"]["es"]
    assert mcid["citation"] == service.runtime.kb.citation(mcid["source"])

    listing = service.client.get(
        f"/api/patients/{patient}/outcomes", headers=service.headers(Role.admin)
    )
    assert listing.status_code == 200, listing.text
    scores = listing.json()["scores"]
    assert [s["id"] for s in scores] == [first["id"], later["id"], little["id"]]
    assert scores[0]["judgement"] is None
    assert scores[1]["judgement"]["baseline_score"] == 20.0
    rows = audit_rows(service, patient)
    assert (
        user_ref(service, Role.clinician),
        "create",
        "outcome-score",
        str(first["id"]),
    ) in rows
    reads = [r for r in rows if r[1:3] == ("read", "outcome-score")]
    assert len(reads) == 3


def test_odi_with_a_skipped_section_and_the_relative_mcid(service: Service) -> None:
    patient, _ = ready_patient(service)
    items = [{"key": k, "score": 3} for k in ODI_KEYS[:9]] + [{"key": "travelling", "score": None}]
    base = post(service, patient, {"measure": "measure.odi", "items": items}).json()
    assert base["score"] == pytest.approx(60.0)  # 27 / 45
    assert base["items"]["answered"] == 9
    items = [{"key": k, "score": 2} for k in ODI_KEYS[:8]]  # 16 / 40 = 40: -33 percent
    later = post(service, patient, {"measure": "measure.odi", "items": items}).json()
    (mcid,) = later["judgement"]["mcids"]
    assert (mcid["source"], mcid["unit"], mcid["verdict"]) == (
        "source.mannion-2005",
        "percent",
        "improved",
    )
    assert mcid["improvement"] == pytest.approx(100 / 3)


def test_psfs_keeps_the_patients_activities(service: Service) -> None:
    patient, _ = ready_patient(service)
    body = {
        "measure": "measure.psfs",
        "items": [
            {"name": "reaching a high shelf", "score": 3},
            {"name": "sleeping on my side", "score": 4},
            {"name": "carrying shopping", "score": 2},
        ],
    }
    out = post(service, patient, body).json()
    assert out["score"] == 3.0
    assert [i["name"] for i in out["items"]["items"]] == [
        "reaching a high shelf",
        "sleeping on my side",
        "carrying shopping",
    ]


BAD = [
    ({"measure": "measure.ndi", "items": [{"key": k, "score": 1} for k in NDI_KEYS[:9]]}, "$.items", "every section"),
    ({**ndi([1] * 9 + [6])}, "$.items[9].score", "from 0 to 5"),
    ({"measure": "measure.psfs", "items": [{"name": "a", "score": 1}]}, "$.items", "3 to 5"),
    ({"measure": "measure.nprs", "items": [{"score": 11}]}, "$.items[0].score", "from 0 to 10"),
    ({"measure": "measure.nprs", "items": [{"score": "lots"}]}, "$.items[0].score", "integer"),
    ({"measure": "measure.dash", "items": [{"score": 1}]}, "$.measure", "not a measure scored here"),
    ({"measure": "measure.nprs", "items": [{"score": 1}], "colour": "red"}, "$.colour", "unknown field"),
    ({"measure": "measure.nprs", "items": [{"score": 1}], "session_id": 999999}, "$.session_id", "no session"),
    ({"measure": "measure.nprs", "items": [{"score": 1}], "recorded_at": "2999-01-01T00:00:00Z"}, "$.recorded_at", "future"),
    ({"items": [{"score": 1}]}, "$.measure", "required"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "where", "problem"), BAD)
def test_bad_input_is_named_audited_and_stores_nothing(
    service: Service, body: dict[str, Any], where: str, problem: str
) -> None:
    patient, _ = ready_patient(service)
    response = post(service, patient, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["location"] == where
    assert problem in error["message"]
    assert stored(service) == 0
    refused = [r for r in audit_rows(service, patient) if r[2] == "outcome-score"]
    assert refused == [(user_ref(service, Role.clinician), "create", "outcome-score", None)]


def test_permissions_are_those_of_sessions(service: Service) -> None:
    patient, _ = ready_patient(service)
    body = {"measure": "measure.nprs", "items": [{"score": 4}]}
    assert post(service, patient, body, Role.front_desk).status_code == 403
    assert post(service, patient, body, Role.admin).status_code == 403
    front = service.client.get(
        f"/api/patients/{patient}/outcomes", headers=service.headers(Role.front_desk)
    )
    assert front.status_code == 403
    assert post(service, 999_999, body).status_code == 404
    assert stored(service) == 0


def test_nprs_series_and_the_questionnaire_due(service: Service) -> None:
    patient, provider = ready_patient(service)
    clinician = service.headers(Role.clinician)
    every = service.runtime.settings.outcome_every_sessions
    assert every == 4

    def due() -> list[tuple[str, str, int]]:
        out = service.client.get(f"/api/patients/{patient}/outcomes", headers=clinician).json()
        return [(d["measure"], d["reason"], d["ordinal"]) for d in out["due"]]

    assert due() == []
    first = record_session(
        service, patient, provider, ["upper-trapezius", "deltoid"], 100, pain_before=7, pain_after=4
    )
    assert due() == [("measure.ndi", "baseline", 1), ("measure.psfs", "baseline", 1)]
    post(service, patient, ndi([2] * 10, session_id=first))
    assert due() == [("measure.psfs", "baseline", 1)]
    record_session(service, patient, provider, ["upper-trapezius"], 80, pain_before=5)
    assert due() == []  # session 2: not a measuring session, NDI has its baseline
    record_session(service, patient, provider, ["lumbar-paraspinals"], 60, pain_before=5)
    assert due() == [("measure.odi", "baseline", 3)]  # a new region: its baseline at once
    record_session(service, patient, provider, ["upper-trapezius"], 40, pain_before=4)
    assert due() == []
    fifth = record_session(service, patient, provider, ["upper-trapezius"], 20, pain_before=4)
    assert due() == [("measure.ndi", "scheduled", 5)]
    post(service, patient, ndi([1] * 10, session_id=fifth))
    assert due() == []

    out = service.client.get(f"/api/patients/{patient}/outcomes", headers=clinician).json()
    sources = [(p["source"], p["score"]) for p in out["nprs"]]
    assert sources[:3] == [("session-before", 7), ("session-after", 4), ("session-before", 5)]
    judged = [p for p in out["nprs"] if p["judgement"] is not None]
    assert all(p["source"] == "session-before" for p in judged)
    last = judged[-1]["judgement"]  # 7 -> 4: 3 points, every NPRS MCID met
    assert {m["verdict"] for m in last["mcids"]} == {"improved"}
    assert len(last["mcids"]) == len(service.runtime.kb.measure("measure.nprs").mcids)  # type: ignore[union-attr]


def test_a_check_in_response_with_a_bad_pain_score_is_refused_naming_it(service: Service) -> None:
    patient, _ = ready_patient(service)
    link = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "check-in"},
        headers=service.headers(Role.front_desk),
    )
    assert link.status_code == 201, link.text
    token = link.json()["token"]
    response = aftercare_response(service)
    response["item"].append({"linkId": "pain", "answer": [{"valueInteger": 12}]})
    refused = service.client.post(f"/api/p/{token}/check-in", json=response)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["location"] == "$.item[2].answer[0].valueInteger"
    assert stored(service) == 0
    response["item"][-1] = {"linkId": "pain", "answer": [{"valueInteger": 3}]}
    accepted = service.client.post(f"/api/p/{token}/check-in", json=response)
    assert accepted.status_code == 201, accepted.text
    assert stored(service) == 1
    rows = audit_rows(service, patient)
    assert any(r[1:3] == ("create", "outcome-score") and r[0].startswith("link:") for r in rows)
