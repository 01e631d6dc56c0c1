"""The first page of a patient link: the language first, what the link is for, the
patient's first name only; the language picked is stored on the record (audited)."""

from __future__ import annotations

from needlewise.security.roles import Role
from support.audit import entries_after, last_id
from support.pages import soup, visible_text
from support.service import Service

from .helpers import patient_with_link


def test_the_first_page_offers_the_language_and_says_what_the_link_is_for(
    service: Service,
) -> None:
    _patient_id, token = patient_with_link(service, "intake", given="Alice")
    page = service.client.get(f"/p/{token}?lang=en")
    assert page.status_code == 200
    main = soup(page).find("main")
    assert main is not None
    first_heading = main.find(["h1"])
    assert first_heading is not None
    assert first_heading.get_text() == "Choose your language"
    hrefs = [a["href"] for a in main.select(".language-buttons a")]
    assert hrefs == [f"/p/{token}?lang=en", f"/p/{token}?lang=es"]
    text = visible_text(page)
    assert "Hello, Alice" in text
    assert "Synthetic" not in text  # the first name only
    assert main.find("a", href=f"/p/{token}/intake") is not None
    assert page.headers["cache-control"] == "no-store"


def test_picking_spanish_stores_it_on_the_patient_record(service: Service) -> None:
    patient_id, token = patient_with_link(service, "consent", language="en")
    before = last_id(service)
    page = service.client.get(f"/p/{token}?lang=es")
    assert page.status_code == 200
    assert soup(page).find("html")["lang"] == "es"  # type: ignore[index]
    assert "Hola, Alice" in visible_text(page)
    record = service.client.get(
        f"/api/patients/{patient_id}", headers=service.headers(Role.front_desk)
    )
    assert record.json()["preferred_language"] == "es"
    updates = [
        e
        for e in entries_after(service, before)
        if e["action"] == "update" and e["resource_type"] == "patient"
    ]
    assert len(updates) == 1
    assert updates[0]["actor"].startswith("link:")
    # the cookie remembers it: the next page speaks Spanish without asking again
    again = service.client.get(f"/p/{token}/consent")
    assert soup(again).find("html")["lang"] == "es"  # type: ignore[index]
    assert "Consentimiento para punción seca" in visible_text(again)


def test_a_tampered_link_is_a_kind_404_page(service: Service) -> None:
    page = service.client.get("/p/not-a-real-token?lang=es")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
