"""The check-in through a check-in link: the knowledge base's symptoms, temperature in
°F or °C, when and where the needling was, free text; the answer page leads with what to
do (call 911 first for an emergency, the clinic's phone for call-provider)."""

from __future__ import annotations

from bs4 import Tag

from needlewise.security.roles import Role
from support.pages import hidden_value, soup, visible_text
from support.service import Service

from .helpers import patient_with_link


def check_ins_of(service: Service, patient_id: int) -> list[dict[str, object]]:
    answer = service.client.get(
        f"/api/check-ins?patient_id={patient_id}", headers=service.headers(Role.clinician)
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def group_ids(page_html: str, tier: str) -> list[str]:
    from bs4 import BeautifulSoup

    section = BeautifulSoup(page_html, "html.parser").find(
        "section", attrs={"aria-labelledby": f"group.{tier}-heading"}
    )
    assert isinstance(section, Tag)
    return sorted({str(i["name"]) for i in section.select("input[type=radio]")})


def test_the_form_asks_the_knowledge_base_symptoms_emergency_first(service: Service) -> None:
    _patient, token = patient_with_link(service, "check-in")
    page = service.client.get(f"/p/{token}/check-in?lang=en")
    assert page.status_code == 200
    headings = [h.get_text() for h in soup(page).select("section.symptom-group h2")]
    assert len(headings) == 3
    asked = {str(i["name"]) for i in soup(page).select("section.symptom-group input[type=radio]")}
    assert asked == {s.id for s in service.runtime.kb.symptoms}
    assert soup(page).select("input[type=radio][checked][name^=symptom]") == []
    units = [str(i["value"]) for i in soup(page).select("input[name=temperature_unit]")]
    assert units == ["[degF]", "Cel"]
    times = [str(i["value"]) for i in soup(page).select("input[name=time-since-treatment]")]
    assert times == ["under-24-hours", "24-to-72-hours", "over-72-hours"]


def test_an_emergency_answer_starts_with_call_911(service: Service) -> None:
    patient_id, token = patient_with_link(service, "check-in")
    page = service.client.get(f"/p/{token}/check-in")
    sent = service.client.post(
        f"/p/{token}/check-in",
        data={
            "form_token": hidden_value(page, "form_token"),
            "symptom.breathing-trouble": "Y",
            "temperature": "99.1",
            "temperature_unit": "[degF]",
            "time-since-treatment": "under-24-hours",
            "details": "it is hard to breathe",
        },
    )
    assert sent.status_code == 200, visible_text(sent)[:300]
    main = soup(sent).find("main")
    assert isinstance(main, Tag)
    first = main.find("a")
    assert isinstance(first, Tag)
    assert first["href"] == "tel:911"
    assert "call-911" in first["class"]
    assert first.get_text() == "Call 911 now"
    [stored] = check_ins_of(service, patient_id)
    assert stored["disposition"] == "emergency"


def test_a_call_provider_answer_shows_the_clinic_phone(service: Service) -> None:
    patient_id, token = patient_with_link(service, "check-in")
    page = service.client.get(f"/p/{token}/check-in")
    answers = dict.fromkeys(group_ids(page.text, "emergency"), "N")
    sent = service.client.post(
        f"/p/{token}/check-in",
        data={
            "form_token": hidden_value(page, "form_token"),
            **answers,
            "temperature": "38,6",
            "temperature_unit": "Cel",
        },
    )
    assert sent.status_code == 200, visible_text(sent)[:300]
    main = soup(sent).find("main")
    assert isinstance(main, Tag)
    call = main.find("a", class_="call-clinic")
    assert isinstance(call, Tag)
    assert call["href"] == "tel:5550100"
    assert "555-0100" in call.get_text()
    assert main.find("a", class_="call-911") is None
    assert [c["disposition"] for c in check_ins_of(service, patient_id)] == ["call-provider"]


def test_a_wrong_temperature_shows_the_form_again_and_stores_nothing(service: Service) -> None:
    patient_id, token = patient_with_link(service, "check-in")
    page = service.client.get(f"/p/{token}/check-in")
    for value, unit, message in (
        ("hot", "[degF]", "Please type the temperature as a number"),
        ("38.5", "[degF]", "This number looks wrong for a body temperature"),
    ):
        sent = service.client.post(
            f"/p/{token}/check-in",
            data={
                "form_token": hidden_value(page, "form_token"),
                "symptom.chest-pain": "N",
                "temperature": value,
                "temperature_unit": unit,
                "details": "kept",
            },
        )
        assert sent.status_code == 422
        assert message in visible_text(sent)
        assert soup(sent).find("textarea", id="details").get_text() == "kept"  # type: ignore[union-attr]
        checked = soup(sent).find("input", attrs={"name": "symptom.chest-pain", "checked": True})
        assert isinstance(checked, Tag)
        assert checked["value"] == "N"
    assert check_ins_of(service, patient_id) == []


def test_a_check_in_without_the_form_token_is_refused(service: Service) -> None:
    patient_id, token = patient_with_link(service, "check-in")
    service.client.get(f"/p/{token}/check-in")
    sent = service.client.post(f"/p/{token}/check-in", data={"symptom.chest-pain": "Y"})
    assert sent.status_code == 403
    assert check_ins_of(service, patient_id) == []


def test_an_expired_link_is_a_kind_410_page_in_spanish(service: Service) -> None:
    _patient, token = patient_with_link(service, "check-in", language="es")
    revoke = service.client.get(f"/api/p/{token}").json()
    del revoke
    from sqlalchemy import update

    from needlewise.persistence.db import utcnow
    from needlewise.persistence.models import PatientLink

    with service.runtime.db.write() as tx:
        tx.execute(update(PatientLink).values(expires_at=utcnow()))
    page = service.client.get(f"/p/{token}/check-in", headers={"accept-language": "es"})
    assert page.status_code == 410
    assert soup(page).find("html")["lang"] == "es"  # type: ignore[index]
    text = visible_text(page)
    assert "Este enlace ya no se puede usar" in text
    assert "Pida a su clínica un enlace nuevo" in text
