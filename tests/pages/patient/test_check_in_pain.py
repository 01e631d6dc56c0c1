"""The check-in's optional pain question (NPRS 0-10): shown as 11 choices, skippable,
stored as an outcome score with the check-in's id (in the check-in's transaction), and
on the patient chart's pain trend; a bad value stores nothing."""

from __future__ import annotations

from sqlalchemy import select

from needlewise.persistence.models import CheckIn, OutcomeScore
from needlewise.security.roles import Role
from support.pages import hidden_value, soup, visible_text
from support.service import Service

from .helpers import patient_with_link


def _rows(service: Service) -> tuple[list[OutcomeScore], list[CheckIn]]:
    with service.runtime.db.read() as tx:
        scores = list(tx.scalars(select(OutcomeScore)))
        check_ins = list(tx.scalars(select(CheckIn)))
        tx.expunge_all()
    return scores, check_ins


def test_the_pain_score_is_asked_and_stored_with_the_check_in(service: Service) -> None:
    patient_id, token = patient_with_link(service, "check-in")
    page = service.client.get(f"/p/{token}/check-in?lang=es")
    choices = [str(i["value"]) for i in soup(page).select("input[type=radio][name=pain]")]
    assert choices == [str(n) for n in range(11)]
    assert soup(page).select("input[name=pain][checked]") == []
    assert "¿Cuánto dolor tiene ahora?" in visible_text(page)
    sent = service.client.post(
        f"/p/{token}/check-in",
        data={"form_token": hidden_value(page, "form_token"), "symptom.soreness": "Y", "pain": "4"},
    )
    assert sent.status_code == 200, visible_text(sent)[:300]
    [score], [check_in] = _rows(service)
    assert (score.measure, score.score, score.check_in_id) == ("measure.nprs", 4.0, check_in.id)
    assert score.patient_id == patient_id
    assert score.created_by == check_in.created_by
    outcomes = service.client.get(
        f"/api/patients/{patient_id}/outcomes", headers=service.headers(Role.clinician)
    ).json()
    assert [(p["source"], p["score"]) for p in outcomes["nprs"]] == [("check-in", 4)]


def test_skipping_the_pain_question_stores_no_score(service: Service) -> None:
    _patient_id, token = patient_with_link(service, "check-in")
    page = service.client.get(f"/p/{token}/check-in")
    sent = service.client.post(
        f"/p/{token}/check-in",
        data={"form_token": hidden_value(page, "form_token"), "symptom.soreness": "Y"},
    )
    assert sent.status_code == 200
    scores, check_ins = _rows(service)
    assert (len(scores), len(check_ins)) == (0, 1)


def test_a_bad_pain_value_shows_the_form_again_and_stores_nothing(service: Service) -> None:
    _patient_id, token = patient_with_link(service, "check-in")
    page = service.client.get(f"/p/{token}/check-in")
    sent = service.client.post(
        f"/p/{token}/check-in",
        data={
            "form_token": hidden_value(page, "form_token"),
            "symptom.soreness": "Y",
            "pain": "11",
        },
    )
    assert sent.status_code == 422
    assert "Please choose a number from 0 to 10." in visible_text(sent)
    assert _rows(service) == ([], [])
