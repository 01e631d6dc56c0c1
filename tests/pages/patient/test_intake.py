"""The intake questions through an intake link: the knowledge base's Questionnaire as a
form, "Not sure" always allowed, follow-up questions only when opened, answers stored
once as the JSON API stores them, calm words after, and nothing stored on a refusal."""

from __future__ import annotations

from needlewise.security.roles import Role
from support.audit import last_id, the_one_entry
from support.pages import hidden_value, soup, visible_text
from support.service import Service

from .helpers import patient_with_link, safe_intake_answers

FIRST_TRIMESTER = "contraindication.pregnancy-first-trimester"


def screenings(service: Service, patient_id: int) -> list[dict[str, object]]:
    answer = service.client.get(
        f"/api/screenings?patient_id={patient_id}", headers=service.headers(Role.clinician)
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def test_every_question_offers_not_sure_and_the_follow_up_says_when(service: Service) -> None:
    _patient, token = patient_with_link(service, "intake")
    page = service.client.get(f"/p/{token}/intake?lang=en")
    assert page.status_code == 200
    questions = soup(page).select("fieldset.question")
    assert len(questions) == len(service.runtime.kb.contraindications)
    for fieldset in questions:
        assert fieldset.find("legend") is not None
        values = [i["value"] for i in fieldset.select("input[type=radio]")]
        assert values == ["Y", "N", "UNK"]
        assert "Not sure" in fieldset.get_text()
    trimester = soup(page).find("fieldset", attrs={"data-link-id": FIRST_TRIMESTER})
    assert trimester is not None
    assert trimester["data-opens-on"] == "Y UNK"
    assert "Answer this only if your answer to question" in trimester.get_text()


def test_sending_the_answers_stores_a_screening_once(service: Service) -> None:
    patient_id, token = patient_with_link(service, "intake")
    page = service.client.get(f"/p/{token}/intake")
    answers = {**safe_intake_answers(page), FIRST_TRIMESTER: "Y"}  # not opened: ignored
    sent = service.client.post(
        f"/p/{token}/intake", data={"form_token": hidden_value(page, "form_token"), **answers}
    )
    assert sent.status_code == 200, visible_text(sent)[:400]
    text = visible_text(sent)
    assert "Your clinic will review your answers before your treatment" in text
    for word in ("eligible", "not-eligible", "review", "contraindication"):
        assert word not in text.lower().replace("review your answers", "")
    stored = screenings(service, patient_id)
    assert len(stored) == 1
    assert str(stored[0]["created_by"]).startswith("link:")
    detail = service.client.get(
        f"/api/screenings/{stored[0]['id']}", headers=service.headers(Role.clinician)
    ).json()
    inputs = detail["inputs"]
    response = inputs["entry"][0]["resource"] if "entry" in inputs else inputs
    linked = [item["linkId"] for item in response["item"]]
    assert FIRST_TRIMESTER not in linked
    assert len(linked) == len(service.runtime.kb.contraindications) - 1
    # the link is used up: a second post is a kind 410 page, nothing more stored
    again = service.client.post(
        f"/p/{token}/intake", data={"form_token": hidden_value(page, "form_token"), **answers}
    )
    assert again.status_code == 410
    assert "This link can no longer be used" in visible_text(again)
    assert len(screenings(service, patient_id)) == 1


def test_the_follow_up_counts_when_opened(service: Service) -> None:
    patient_id, token = patient_with_link(service, "intake")
    page = service.client.get(f"/p/{token}/intake")
    answers = {**safe_intake_answers(page), "contraindication.pregnancy": "UNK"}
    token_field = hidden_value(page, "form_token")
    missing = service.client.post(f"/p/{token}/intake", data={"form_token": token_field, **answers})
    assert missing.status_code == 422  # the opened follow-up needs an answer
    assert screenings(service, patient_id) == []
    sent = service.client.post(
        f"/p/{token}/intake", data={"form_token": token_field, **answers, FIRST_TRIMESTER: "UNK"}
    )
    assert sent.status_code == 200
    assert len(screenings(service, patient_id)) == 1


def test_missing_answers_show_the_form_again_and_store_nothing(service: Service) -> None:
    patient_id, token = patient_with_link(service, "intake")
    page = service.client.get(f"/p/{token}/intake")
    answers = safe_intake_answers(page)
    left_out = next(iter(answers))
    del answers[left_out]
    answers["contraindication.diabetes"] = "maybe"
    sent = service.client.post(
        f"/p/{token}/intake", data={"form_token": hidden_value(page, "form_token"), **answers}
    )
    assert sent.status_code == 422
    blank = soup(sent).find("fieldset", attrs={"data-link-id": left_out})
    assert blank is not None
    error = blank.find(class_="field-error")
    assert error is not None
    assert error.get_text() == "Please choose an answer."
    assert str(error["id"]) in str(blank["aria-describedby"])
    wrong = soup(sent).find("fieldset", attrs={"data-link-id": "contraindication.diabetes"})
    assert wrong is not None
    assert "Please choose one of the answers below." in wrong.get_text()
    # what was answered is kept
    kept = soup(sent).select("input[type=radio][checked]")
    assert len(kept) == len(answers) - 1
    assert screenings(service, patient_id) == []


def test_a_post_without_the_form_token_is_refused_and_audited(service: Service) -> None:
    patient_id, token = patient_with_link(service, "intake")
    page = service.client.get(f"/p/{token}/intake")
    before = last_id(service)
    sent = service.client.post(f"/p/{token}/intake", data=safe_intake_answers(page))
    assert sent.status_code == 403
    entry = the_one_entry(service, before)
    assert (entry["outcome"], entry["reason"]) == ("denied", "csrf")
    assert entry["actor"].startswith("link:")
    assert screenings(service, patient_id) == []


def test_the_questions_come_in_spanish(service: Service) -> None:
    _patient, token = patient_with_link(service, "intake", language="es")
    page = service.client.get(f"/p/{token}/intake")
    assert soup(page).find("html")["lang"] == "es"  # type: ignore[index]
    assert "No estoy seguro/a" in visible_text(page) or "No sé" in visible_text(page)
