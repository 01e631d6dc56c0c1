"""Providers with their state scope (answer, source, as-of date), the clinic's settings,
and the audit log with filters and paging — as an admin sees them."""

from __future__ import annotations

from bs4 import Tag

from needlewise.security.roles import Role
from needlewise.services.scope import lookup_scope
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import make_patient

ADMIN = "admin@clinic.example"


def test_each_provider_shows_its_scope_answer_with_source_and_as_of_date(
    service: Service,
) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    made = client.post(
        "/app/admin/providers",
        data={"csrf_token": csrf, "name": "Pat Colorado", "profession": "pt",
              "licence_state": "CO", "licence_number": "PT-1", "training_hours": "54",
              "training_date": "2024-03-01", "user_id": ""},
    )  # fmt: skip
    assert made.status_code == 303, visible_text(made)[:500]
    provider_id = int(made.headers["location"].rsplit("=", 1)[1])
    page = client.get(made.headers["location"])
    card = soup(page).find(id=f"provider-{provider_id}")
    assert isinstance(card, Tag)
    text = " ".join(card.get_text(" ").split())
    scope = lookup_scope(service.runtime.kb, "CO", "pt", "en")
    assert scope.status == "allowed"
    assert scope.as_of is not None
    assert "Allowed in Colorado" in text
    assert f"As of: {scope.as_of.isoformat()}" in text
    citation = service.runtime.kb.citations(scope.sources)
    assert citation
    assert all(c in text for c in citation.values())
    assert "54 hours" in text
    # the same answer as the API's
    api = client.get(
        f"/api/providers/{provider_id}/scope", headers=service.headers(Role.admin)
    ).json()
    assert api["status"] == "allowed"
    assert api["as_of"] == scope.as_of.isoformat()


def test_a_provider_in_an_unknown_state_is_explained_and_not_added(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    answer = client.post(
        "/app/admin/providers",
        data={"csrf_token": csrf, "name": "Pat", "profession": "pt", "licence_state": "ZZ",
              "licence_number": "PT-1"},
    )  # fmt: skip
    assert answer.status_code == 422
    error = soup(answer).find(id="licence_state-error")
    assert error is not None
    assert "US state" in error.get_text()
    listed = client.get("/api/providers", headers=service.headers(Role.admin)).json()
    assert listed["total"] == 0


def test_the_clinic_phone_numbers_are_updated(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    page = client.get("/app/admin/clinic")
    assert page.status_code == 200
    version = soup(page).find("input", attrs={"name": "version"})
    assert isinstance(version, Tag)
    answer = client.post(
        "/app/admin/clinic",
        data={
            "csrf_token": csrf,
            "version": str(version["value"]),
            "name": "Synthetic Test Clinic",
            "phones": "555-0100\r\n\r\n555-0199 (after hours)\r\n",
            "languages": ["en", "es"],
        },
    )
    assert answer.status_code == 303, visible_text(answer)[:400]
    clinic = client.get("/api/clinic", headers=service.headers(Role.admin)).json()
    assert clinic["phones"] == ["555-0100", "555-0199 (after hours)"]
    assert clinic["languages"] == ["en", "es"]
    assert "Saved." in visible_text(client.get(answer.headers["location"]))
    # the old version again: someone saved in between
    stale = client.post(
        "/app/admin/clinic",
        data={"csrf_token": csrf, "version": str(version["value"]), "name": "Other",
              "phones": "555-0000", "languages": ["en"]},
    )  # fmt: skip
    assert stale.status_code == 412
    assert client.get("/api/clinic", headers=service.headers(Role.admin)).json()["name"] == (
        "Synthetic Test Clinic"
    )


def test_clinic_settings_refuse_bad_input_next_to_the_field(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    before = client.get("/api/clinic", headers=service.headers(Role.admin)).json()
    answer = client.post(
        "/app/admin/clinic",
        data={"csrf_token": csrf, "version": str(before["version"]), "name": "",
              "phones": "\n".join(f"555-01{n:02}" for n in range(11))},
    )  # fmt: skip
    assert answer.status_code == 422
    page = soup(answer)
    for name in ("name", "phones", "languages"):
        assert page.find(id=f"{name}-error") is not None, name
    assert client.get("/api/clinic", headers=service.headers(Role.admin)).json() == before


def test_audit_filters_narrow_the_entries(service: Service) -> None:
    client = service.client
    sign_in(client, ADMIN)
    first = make_patient(service, "Ines")
    make_patient(service, "Jo")
    client.get(f"/api/patients/{first}", headers=service.headers(Role.clinician))
    client.get("/api/users", headers=service.headers(Role.clinician))  # denied
    every = client.get("/app/admin/audit")
    assert every.status_code == 200
    all_rows = soup(every).select("table.audit tbody tr")
    assert len(all_rows) > 3
    by_patient = soup(client.get(f"/app/admin/audit?patient_id={first}"))
    rows = by_patient.select("table.audit tbody tr")
    assert rows
    assert len(rows) < len(all_rows)
    cells = [r.find_all("td")[4].get_text(" ", strip=True) for r in rows]
    assert all(cell.split()[-1] == str(first) for cell in cells), cells
    denied = soup(client.get("/app/admin/audit?outcome=denied"))
    rows = denied.select("table.audit tbody tr")
    assert len(rows) == 1
    assert "Not allowed" in rows[0].get_text()
    clinician = f"user:{service.users[Role.clinician].id}"
    mine = soup(client.get(f"/app/admin/audit?actor={clinician}&action=read&resource_type=patient"))
    rows = mine.select("table.audit tbody tr")
    assert len(rows) == 1
    future = soup(client.get("/app/admin/audit?since=2999-01-01"))
    assert not future.select("table.audit tbody tr")
    assert "No entry matches these filters." in future.get_text()
    past = soup(client.get("/app/admin/audit?until=2000-01-01"))
    assert not past.select("table.audit tbody tr")


def test_audit_paging_keeps_the_filters(service: Service) -> None:
    client = service.client
    sign_in(client, ADMIN)
    patient = make_patient(service, "Kai")
    for _ in range(55):
        client.get(f"/api/patients/{patient}", headers=service.headers(Role.clinician))
    # reading the log is audited too (naming the patient filtered on): keep to patient reads
    query = f"patient_id={patient}&action=read&resource_type=patient"
    first = soup(client.get(f"/app/admin/audit?{query}"))
    assert len(first.select("table.audit tbody tr")) == 50
    older = first.find("a", string="Older entries")
    assert isinstance(older, Tag)
    href = str(older["href"])
    assert all(part in href for part in query.split("&"))
    assert "offset=50" in href
    second = soup(client.get(href))
    assert len(second.select("table.audit tbody tr")) == 5


def test_audit_filters_that_cannot_be_read_are_explained(service: Service) -> None:
    client = service.client
    sign_in(client, ADMIN)
    answer = client.get("/app/admin/audit?patient_id=abc&since=2024-05-02&until=2024-05-01")
    assert answer.status_code == 422
    page = soup(answer)
    assert page.find(id="patient_id-error") is not None
    answer = client.get("/app/admin/audit?since=2024-05-02&until=2024-05-01")
    assert answer.status_code == 422
    error = soup(answer).find(id="until-error")
    assert error is not None
    assert "must not be before" in error.get_text()


def test_forms_without_the_csrf_token_are_refused(service: Service) -> None:
    client = service.client
    sign_in(client, ADMIN)
    patient = make_patient(service, "Lia")
    before_clinic = client.get("/api/clinic", headers=service.headers(Role.admin)).json()
    for path, data in (
        ("/app/patients/new", {"given_name": "A", "family_name": "B"}),
        (f"/app/patients/{patient}/links", {"purpose": "intake"}),
        ("/app/admin/users", {"email": "z@clinic.example", "name": "Z", "role": "admin",
                              "password": "granite lantern copper meadow"}),
        ("/app/admin/providers", {"name": "P", "profession": "pt", "licence_state": "CO",
                                  "licence_number": "1"}),
        ("/app/admin/clinic", {"version": str(before_clinic["version"]), "name": "Changed",
                               "languages": "en"}),
    ):  # fmt: skip
        answer = client.post(path, data={**data, "csrf_token": "wrong"})
        assert answer.status_code == 403, path
        assert client.post(path, data=data).status_code == 403, path
    admin = service.headers(Role.admin)
    assert client.get("/api/clinic", headers=admin).json() == before_clinic
    assert client.get("/api/providers", headers=admin).json()["total"] == 0
    assert client.get("/api/patients", headers=admin).json()["total"] == 1
    assert "z@clinic.example" not in [
        u["email"] for u in client.get("/api/users", headers=admin).json()["items"]
    ]
