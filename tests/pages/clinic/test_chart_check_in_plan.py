"""The patient chart shows the check-in messages of the latest session: each check-in
by its title in the knowledge base, when it goes (clinic time) and whether it went."""

from __future__ import annotations

from bs4 import Tag

from needlewise.security.roles import Role
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import add_consent, add_screening, make_provider, session_body


def test_the_latest_session_lists_its_check_in_messages(service: Service) -> None:
    made = service.client.post(
        "/api/patients",
        json={"given_name": "Noor", "family_name": "Synthetic", "email": "noor@patients.example"},
        headers=service.headers(Role.front_desk),
    )
    assert made.status_code == 201, made.text
    patient_id = made.json()["id"]
    add_screening(service, patient_id, "eligible")
    add_consent(service, patient_id)
    recorded = service.client.post(
        f"/api/patients/{patient_id}/sessions",
        json=session_body(make_provider(service)),
        headers=service.headers(Role.clinician),
    )
    assert recorded.status_code == 201, recorded.text
    planned = recorded.json()["check_in_schedule"]["messages"]
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get(f"/app/patients/{patient_id}")
    plan = soup(page).find("details", class_="check-in-plan")
    assert isinstance(plan, Tag)
    items = plan.find_all("li")
    assert len(items) == len(planned)
    text = " ".join(plan.get_text(" ").split())
    titles = {r.id: r.title.en for r in service.runtime.kb.data.aftercare_schedule.rules}
    for message in planned:
        assert titles[message["rule"]] in text
    assert "(reminder)" in text
    assert "waiting" in text
    assert " UTC" in text  # the test clinic has not set its zone: times say so
    spanish = visible_text(service.client.get(f"/app/patients/{patient_id}?lang=es"))
    assert "Mensajes de seguimiento después de esta sesión" in spanish
    assert "en espera" in spanish


def test_front_desk_sees_no_session_plan(service: Service) -> None:
    sign_in(service.client, service.users[Role.front_desk].email)
    made = service.client.post(
        "/api/patients",
        json={"given_name": "Ola", "family_name": "Synthetic"},
        headers=service.headers(Role.front_desk),
    )
    page = service.client.get(f"/app/patients/{made.json()['id']}")
    assert page.status_code == 200
    assert soup(page).find("details", class_="check-in-plan") is None
