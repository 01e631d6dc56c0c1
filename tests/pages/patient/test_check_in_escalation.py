"""What the patient is told after an urgent check-in (issue 13, escalation): what to do
themselves comes first — call 911, or call the clinic today — and then that the clinic
was told too, in words that say the clinic's alert never takes the place of 911; in
English and Spanish, at or below a 6th-grade reading level."""

from __future__ import annotations

import pytest
from bs4 import Tag
from sqlalchemy import select

from needlewise.messages import MESSAGES
from needlewise.persistence.models import OutboundMessage
from needlewise.security.roles import Role
from support.pages import hidden_value, soup, visible_text
from support.readability import fernandez_huerta, flesch_kincaid_grades
from support.service import Service
from support.treatment import make_patient

from .helpers import patient_with_link

#: red-flag and aftercare text: English grade at most 6, Spanish Fernández-Huerta 70+
RED_FLAG = (6.0, 70.0)
TOLD = ("check-in.clinic-told.emergency", "check-in.clinic-told.call-provider")


@pytest.mark.parametrize("key", TOLD)
def test_the_clinic_told_wording_is_plain(key: str) -> None:
    grades = flesch_kincaid_grades(MESSAGES[key]["en"])
    assert max(grades.values()) <= RED_FLAG[0], (key, grades)
    assert fernandez_huerta(MESSAGES[key]["es"]) >= RED_FLAG[1], key
    for language in ("en", "es"):
        assert "911" in MESSAGES[key][language]  # 911 stays the patient's own step


def link_token(service: Service, language: str) -> str:
    patient = make_patient(service, "Rosa", language=language)
    made = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "check-in"},
        headers=service.headers(Role.front_desk),
    )
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


@pytest.mark.parametrize(
    ("symptoms", "disposition", "alerted"),
    [
        (["symptom.chest-pain"], "emergency", True),
        (["symptom.fever"], "call-provider", True),
        ([], "self-care", False),
    ],
)
def test_the_patient_answer_says_the_clinic_was_told(
    service: Service, symptoms: list[str], disposition: str, alerted: bool
) -> None:
    for language in ("en", "es"):
        token = link_token(service, language)
        answer = service.client.post(
            f"/api/p/{token}/check-in",
            json={"symptoms": symptoms, "hours_since_treatment": 30.0, "language": language},
        )
        assert answer.status_code == 201, answer.text
        told = answer.json()
        assert told["disposition"] == disposition
        assert told["clinic_alerted"] is alerted
        if alerted:
            key = f"check-in.clinic-told.{disposition}"
            assert told["clinic_notice"] == MESSAGES[key][language]
            assert told["call_911"] is (disposition == "emergency")
        else:
            assert told["clinic_notice"] is None


def test_the_page_puts_911_first_then_the_clinic_in_spanish(service: Service) -> None:
    """Spanish free text after chest needling: 911 first, then that the clinic was told
    (the alert row is written too)."""
    _patient, token = patient_with_link(service, "check-in", language="es")
    page = service.client.get(f"/p/{token}/check-in")
    sent = service.client.post(
        f"/p/{token}/check-in",
        data={
            "form_token": hidden_value(page, "form_token"),
            "treated-regions": "region.chest",
            "details": "me falta el aire y me duele el pecho",
        },
    )
    assert sent.status_code == 200, visible_text(sent)[:300]
    main = soup(sent).find("main")
    assert isinstance(main, Tag)
    blocks = [
        tag
        for tag in main.find_all(["a", "p"])
        if isinstance(tag, Tag) and ({"call-911", "clinic-told"} & set(tag.get("class") or []))
    ]
    assert [("call-911" in (b.get("class") or [])) for b in blocks] == [True, False]
    assert blocks[0]["href"] == "tel:911"
    assert blocks[0].get_text() == "Llame al 911 ahora"
    assert blocks[1].get_text(strip=True) == MESSAGES["check-in.clinic-told.emergency"]["es"]
    with service.runtime.db.read() as tx:
        kinds = tx.scalars(select(OutboundMessage.kind)).all()
    assert kinds == ["clinic-alert"]
