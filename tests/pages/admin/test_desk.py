"""The front desk's pages: register a patient through the form, make a link and show it
once (address, copy button, QR code without style attributes), list and cancel links,
and see where the patient stands."""

from __future__ import annotations

from urllib.parse import urlsplit

from bs4 import Tag

from needlewise.security.roles import Role
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import add_consent, add_screening, make_patient

FRONT_DESK = "front-desk@clinic.example"


def patient_count(service: Service) -> int:
    answer = service.client.get("/api/patients", headers=service.headers(Role.front_desk))
    assert answer.status_code == 200
    total: int = answer.json()["total"]
    return total


def test_the_form_registers_a_patient_the_api_then_knows(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, FRONT_DESK)
    form = client.get("/app/patients/new")
    assert form.status_code == 200
    page = soup(form)
    assert page.find("input", attrs={"name": "csrf_token", "value": csrf})
    languages = {
        str(i["value"]) for i in page.find_all("input", attrs={"name": "preferred_language"})
    }
    assert languages == {"en", "es"}
    answer = client.post(
        "/app/patients/new",
        data={
            "csrf_token": csrf,
            "given_name": " Lucía ",
            "family_name": "Synthetic",
            "birth_date": "1980-02-29",
            "sex": "female",
            "preferred_language": "es",
            "phone": "555-0142",
            "email": "",
            "address": "",
        },
    )
    assert answer.status_code == 303, visible_text(answer)[:400]
    location = answer.headers["location"]
    assert location.startswith("/app/patients/")
    assert location.endswith("/links")
    patient_id = int(location.split("/")[3])
    record = client.get(f"/api/patients/{patient_id}", headers=service.headers(Role.front_desk))
    assert record.status_code == 200
    body = record.json()
    assert (body["given_name"], body["family_name"]) == ("Lucía", "Synthetic")
    assert (body["birth_date"], body["sex"], body["preferred_language"]) == (
        "1980-02-29",
        "female",
        "es",
    )
    assert body["email"] is None
    assert body["address"] is None
    page_after = client.get(location)
    assert page_after.status_code == 200
    assert "Lucía Synthetic" in visible_text(page_after)


def test_bad_input_shows_the_form_again_with_reasons_and_saves_nothing(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, FRONT_DESK)
    before = patient_count(service)
    answer = client.post(
        "/app/patients/new",
        data={
            "csrf_token": csrf,
            "given_name": "Ana",
            "family_name": "  ",
            "birth_date": "not a date",
            "preferred_language": "en",
            "email": "not-an-email",
        },
    )
    assert answer.status_code == 422
    page = soup(answer)
    for name, words in (
        ("family_name", "Please fill this in."),
        ("birth_date", "Please enter a date"),
        ("email", "Please enter an email address"),
    ):
        field = page.find(id=name)
        assert isinstance(field, Tag)
        assert f"{name}-error" in str(field.get("aria-describedby", "")), name
        assert field.get("aria-invalid") == "true"
        error = page.find(id=f"{name}-error")
        assert error is not None, name
        assert words in error.get_text(), (name, error)
    given = page.find(id="given_name")
    assert isinstance(given, Tag)
    assert given.get("value") == "Ana"
    assert patient_count(service) == before


def test_bad_input_is_explained_in_spanish_to_a_spanish_reader(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, FRONT_DESK)
    client.get("/app/patients/new?lang=es")
    answer = client.post(
        "/app/patients/new", data={"csrf_token": csrf, "given_name": "", "family_name": "X"}
    )
    assert answer.status_code == 422
    assert "Complete este dato." in visible_text(answer)


def new_link(service: Service, csrf: str, patient_id: int, purpose: str = "intake") -> str:
    """Make a link through the page; returns the address it shows."""
    answer = service.client.post(
        f"/app/patients/{patient_id}/links", data={"csrf_token": csrf, "purpose": purpose}
    )
    assert answer.status_code == 201, visible_text(answer)[:400]
    field = soup(answer).find("input", id="new-link")
    assert isinstance(field, Tag)
    return str(field["value"])


def test_a_new_link_is_shown_once_with_its_address_and_a_qr_code(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, FRONT_DESK)
    patient_id = make_patient(service, "Bea")
    answer = client.post(
        f"/app/patients/{patient_id}/links", data={"csrf_token": csrf, "purpose": "intake"}
    )
    assert answer.status_code == 201
    page = soup(answer)
    field = page.find("input", id="new-link")
    assert isinstance(field, Tag)
    assert field.has_attr("readonly")
    url = str(field["value"])
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "test")
    assert parts.path.startswith("/p/")
    token = parts.path.removeprefix("/p/")
    # the link opens on the patient side of the API
    opened = client.get(f"/api/p/{token}")
    assert opened.status_code == 200, opened.text
    assert opened.json()["purpose"] == "intake"
    # copy button for the field
    button = page.find("button", attrs={"data-copy": "new-link"})
    assert button is not None
    # the QR code: inline SVG, no style attribute anywhere, with an accessible name
    svg = page.find("svg")
    assert isinstance(svg, Tag)
    assert svg.get("role") == "img"
    assert svg.get("aria-label")
    assert svg.find("title") is not None
    assert not [tag.name for tag in [svg, *svg.find_all(True)] if tag.has_attr("style")]
    assert "style=" not in answer.text
    # the token is in no address of ours but the link itself
    for tag in page.find_all(["a", "form", "link", "script", "img"]):
        for attribute in ("href", "action", "src"):
            assert token not in str(tag.get(attribute, "")), tag
    # and shown only now
    again = client.get(f"/app/patients/{patient_id}/links")
    assert again.status_code == 200
    assert token not in again.text
    assert again.headers["cache-control"] == "no-store"


def test_links_are_listed_with_their_status_and_can_be_cancelled(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, FRONT_DESK)
    patient_id = make_patient(service, "Cleo")
    url = new_link(service, csrf, patient_id, "consent")
    token = url.rsplit("/", 1)[1]
    listed = client.get(f"/app/patients/{patient_id}/links")
    rows = soup(listed).select("table tbody tr")
    assert len(rows) == 1
    assert "Consent" in rows[0].get_text()
    assert "Open" in rows[0].get_text()
    form = rows[0].find("form")
    assert isinstance(form, Tag)
    action = str(form["action"])
    refused = client.post(action, data={})  # no CSRF token
    assert refused.status_code == 403
    assert client.get(f"/api/p/{token}").status_code == 200
    done = client.post(action, data={"csrf_token": csrf})
    assert done.status_code == 303
    assert client.get(f"/api/p/{token}").status_code == 410
    after = client.get(done.headers["location"])
    assert "The link was cancelled" in visible_text(after)
    row = soup(after).select("table tbody tr")[0]
    assert "Cancelled" in row.get_text()
    assert row.find("form") is None


def test_a_bad_validity_is_explained_and_makes_no_link(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, FRONT_DESK)
    patient_id = make_patient(service, "Dora")
    answer = client.post(
        f"/app/patients/{patient_id}/links",
        data={"csrf_token": csrf, "purpose": "intake", "hours": "0"},
    )
    assert answer.status_code == 422
    error = soup(answer).find(id="hours-error")
    assert error is not None
    assert "above 0" in error.get_text()
    assert soup(answer).find("input", id="new-link") is None
    assert not soup(answer).select("table tbody tr")


def test_the_page_says_where_the_patient_stands(service: Service) -> None:
    client = service.client
    sign_in(client, FRONT_DESK)
    patient_id = make_patient(service, "Edda")
    fresh = visible_text(client.get(f"/app/patients/{patient_id}/links"))
    assert "Not answered yet" in fresh
    assert "Not signed yet" in fresh
    add_screening(service, patient_id, "review")
    add_consent(service, patient_id, withdrawn=True)
    later = visible_text(client.get(f"/app/patients/{patient_id}/links"))
    assert "Screened: a clinician must review it" in later
    assert "Withdrawn: the patient must sign again" in later


def test_another_clinics_patient_is_not_found(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, FRONT_DESK)
    assert client.get("/app/patients/999999/links").status_code == 404
    answer = client.post(
        "/app/patients/999999/links", data={"csrf_token": csrf, "purpose": "intake"}
    )
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
