"""The today list: check-ins waiting (emergency first, then call-provider), patients with
their screening and consent, and acknowledging a check-in (clinicians only, audited)."""

from __future__ import annotations

from needlewise.security.roles import Role
from pages.clinic.helpers import add_check_in
from support.audit import entries_after, last_id, ref
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import add_consent, add_screening, make_patient


def test_emergency_check_ins_come_first_then_call_provider(service: Service) -> None:
    first = make_patient(service, "Ana")
    second = make_patient(service, "Ben")
    add_check_in(service, first, "self-care")
    add_check_in(service, first, "call-provider")
    emergency = add_check_in(service, second, "emergency")  # the newest, but ordered by urgency
    add_check_in(service, second, "call-provider")
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get("/app")
    assert page.status_code == 200
    rows = soup(page).select("ol.check-ins > li")
    kinds = [next(c for c in row["class"] if c != "check-in") for row in rows]
    assert kinds == ["emergency", "call-provider", "call-provider", "self-care"]
    assert rows[0]["id"] == f"check-in-{emergency}"
    assert "Emergency" in rows[0].get_text()
    assert "Chest" in rows[0].get_text()


def test_patients_show_screening_and_consent_as_words(service: Service) -> None:
    ready = make_patient(service, "Ready")
    add_screening(service, ready, "eligible")
    add_consent(service, ready)
    blocked = make_patient(service, "Blocked")
    add_screening(service, blocked, "not-eligible")
    make_patient(service, "New")
    sign_in(service.client, service.users[Role.front_desk].email)
    page = service.client.get("/app")
    rows = {
        row.select_one("th").get_text(strip=True): row.get_text(" ", strip=True)  # type: ignore[union-attr]
        for row in soup(page).select("table.patients tbody tr")
    }
    assert "Eligible" in rows["Ready Synthetic"]
    assert "Signed" in rows["Ready Synthetic"]
    assert "Not eligible" in rows["Blocked Synthetic"]
    assert "Not screened" in rows["New Synthetic"]
    assert "No consent" in rows["New Synthetic"]


def test_a_clinician_acknowledges_a_check_in_and_it_is_audited(service: Service) -> None:
    patient = make_patient(service)
    check_in = add_check_in(service, patient, "emergency")
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    before = last_id(service)
    answer = service.client.post(
        f"/app/check-ins/{check_in}/acknowledge", data={"csrf_token": csrf, "version": "1"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app?notice=acknowledged"
    acks = [e for e in entries_after(service, before) if e["action"] == "acknowledge"]
    assert [(e["actor"], e["resource_id"]) for e in acks] == [
        (ref(service, Role.clinician), str(check_in))
    ]
    page = service.client.get("/app?notice=acknowledged")
    assert "The check-in is acknowledged." in visible_text(page)
    assert not soup(page).select("ol.check-ins > li")
    stored = service.client.get(
        f"/api/check-ins/{check_in}", headers=service.headers(Role.clinician)
    )
    assert stored.json()["acknowledged_by"] == service.users[Role.clinician].id


def test_with_htmx_the_acknowledged_row_comes_back(service: Service) -> None:
    patient = make_patient(service)
    check_in = add_check_in(service, patient, "call-provider")
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    answer = service.client.post(
        f"/app/check-ins/{check_in}/acknowledge",
        data={"csrf_token": csrf, "version": "1"},
        headers={"hx-request": "true"},
    )
    assert answer.status_code == 200
    row = soup(answer).select_one("li.check-in")
    assert row is not None
    assert row["id"] == f"check-in-{check_in}"
    assert "Acknowledged" in row.get_text()
    assert row.find("form") is None


def test_front_desk_sees_the_list_but_may_not_acknowledge(service: Service) -> None:
    patient = make_patient(service)
    check_in = add_check_in(service, patient, "emergency")
    csrf = sign_in(service.client, service.users[Role.front_desk].email)
    page = service.client.get("/app")
    assert page.status_code == 200
    row = soup(page).select_one(f"#check-in-{check_in}")
    assert row is not None
    assert row.find("form") is None
    assert "A clinician acknowledges this check-in." in row.get_text()
    before = last_id(service)
    answer = service.client.post(
        f"/app/check-ins/{check_in}/acknowledge", data={"csrf_token": csrf, "version": "1"}
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "You cannot do this" in visible_text(answer)
    denied = [e for e in entries_after(service, before) if e["outcome"] == "denied"]
    assert [(e["actor"], e["reason"]) for e in denied] == [
        (ref(service, Role.front_desk), "forbidden")
    ]
    stored = service.client.get(
        f"/api/check-ins/{check_in}", headers=service.headers(Role.clinician)
    )
    assert stored.json()["acknowledged_at"] is None


def test_acknowledging_without_the_csrf_token_is_refused(service: Service) -> None:
    patient = make_patient(service)
    check_in = add_check_in(service, patient, "emergency")
    sign_in(service.client, service.users[Role.clinician].email)
    before = last_id(service)
    answer = service.client.post(f"/app/check-ins/{check_in}/acknowledge", data={"version": "1"})
    assert answer.status_code == 403
    denied = [e for e in entries_after(service, before) if e["outcome"] == "denied"]
    assert [e["reason"] for e in denied] == ["csrf"]
    stored = service.client.get(
        f"/api/check-ins/{check_in}", headers=service.headers(Role.clinician)
    )
    assert stored.json()["acknowledged_at"] is None


def test_a_second_acknowledgement_is_a_conflict_page(service: Service) -> None:
    patient = make_patient(service)
    check_in = add_check_in(service, patient, "emergency")
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    form = {"csrf_token": csrf, "version": "1"}
    assert (
        service.client.post(f"/app/check-ins/{check_in}/acknowledge", data=form).status_code == 303
    )
    again = service.client.post(f"/app/check-ins/{check_in}/acknowledge", data=form)
    assert again.status_code == 409
    assert "This changed in the meantime" in visible_text(again)


def test_the_today_list_in_spanish(service: Service) -> None:
    patient = make_patient(service)
    add_check_in(service, patient, "emergency")
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get("/app?lang=es")
    text = visible_text(page)
    assert "Seguimientos en espera" in text
    assert "Emergencia" in text


def test_a_name_search_is_posted_and_never_in_an_address(service: Service) -> None:
    """No patient data in URLs (issue 11): the search form posts the name, and the
    pages of a search are posted too."""
    make_patient(service, given="Zelda")
    make_patient(service, given="Yusuf")
    client = service.client
    csrf = sign_in(client, service.users[Role.front_desk].email)
    page = soup(client.get("/app"))
    search = page.find("form", class_="search")
    assert search is not None
    assert search["method"] == "post"
    found = client.post("/app", data={"csrf_token": csrf, "q": "Zelda"})
    assert found.status_code == 200
    names = [a.get_text() for a in soup(found).select("table.patients th a")]
    assert names == ["Zelda Synthetic"]
    assert "Zelda" not in " ".join(str(a.get("href")) for a in soup(found).find_all("a"))
    # an address with a name in it finds nothing: the GET list ignores it
    listed = soup(client.get("/app?q=Zelda"))
    assert len(listed.select("table.patients th a")) == 2


def test_a_search_that_is_not_a_name_is_refused_with_the_field(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, service.users[Role.clinician].email)
    answer = client.post("/app", data={"csrf_token": csrf, "q": "x" * 101})
    assert answer.status_code == 422
    assert "at most 100 characters" in visible_text(answer)
    answer = client.post("/app", data={"csrf_token": csrf, "q": "a", "offset": "-1"})
    assert answer.status_code == 422
