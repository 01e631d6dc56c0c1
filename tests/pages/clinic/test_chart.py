"""The patient chart: screenings with findings and their sources, consents with the PDF
link, sessions, check-ins, the NPRS trend as an SVG with a table, and what each role sees."""

from __future__ import annotations

from typing import Any

from needlewise.security.roles import Role
from pages.clinic.helpers import add_check_in
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import add_consent, add_screening, make_patient, ready_patient, session_body

#: what an empty table cell shows (an en dash)
NONE = "\u2013"


def record_session(service: Service, patient_id: int, provider_id: int, **fields: Any) -> int:
    answer = service.client.post(
        f"/api/patients/{patient_id}/sessions",
        json=session_body(provider_id, **fields),
        headers=service.headers(Role.clinician),
    )
    assert answer.status_code == 201, answer.text
    session_id: int = answer.json()["id"]
    return session_id


def test_findings_show_with_their_reasons_and_sources(service: Service) -> None:
    patient = make_patient(service)
    add_screening(service, patient, "not-eligible")
    consent = add_consent(service, patient)
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get(f"/app/patients/{patient}")
    assert page.status_code == 200
    finding = soup(page).select_one("ul.findings li")
    assert finding is not None
    text = finding.get_text(" ", strip=True)
    assert "Strong fear of needles" in text
    assert "Absolute" in text
    assert "contraindication.needle-fear" in text  # what it was read from
    sources = finding.select("details.sources li")
    assert any("Board Notice BN121" in li.get_text() for li in sources)
    assert soup(page).find("a", href=f"/app/consents/{consent}.pdf") is not None
    assert soup(page).find("a", href=f"/app/patients/{patient}/links") is not None
    assert "(the one sessions rely on)" in visible_text(page)


def test_the_nprs_trend_is_drawn_when_sessions_have_pain_scores(service: Service) -> None:
    patient, provider = ready_patient(service)
    record_session(service, patient, provider, pain_before=7, pain_after=4)
    record_session(service, patient, provider, pain_before=5, pain_after=2)
    sign_in(service.client, service.users[Role.clinician].email)
    page = soup(service.client.get(f"/app/patients/{patient}"))
    svg = page.select_one("svg.nprs-chart")
    assert svg is not None
    assert svg.find("title") is not None
    assert svg.find("desc") is not None
    assert svg["aria-labelledby"] == "nprs-title nprs-desc"
    assert len(svg.select("circle.dot.before")) == 2
    assert len(svg.select("rect.dot.after")) == 2
    assert not svg.select("[style]")  # presentation attributes and classes only
    table = page.select_one("table.nprs-table")
    assert table is not None
    cells = [[td.get_text() for td in tr.find_all("td")] for tr in table.select("tbody tr")]
    assert sorted(cells) == [["5", "2", NONE], ["7", "4", NONE]]  # no check-in score


def test_no_trend_without_scores(service: Service) -> None:
    patient, provider = ready_patient(service)
    record_session(service, patient, provider)
    sign_in(service.client, service.users[Role.clinician].email)
    page = soup(service.client.get(f"/app/patients/{patient}"))
    assert page.select_one("svg.nprs-chart") is None
    assert "CPT 20560" in page.get_text()


def test_front_desk_sees_the_chart_without_sessions(service: Service) -> None:
    patient, provider = ready_patient(service)
    record_session(service, patient, provider, pain_before=6)
    add_check_in(service, patient, "emergency")
    sign_in(service.client, service.users[Role.front_desk].email)
    page = service.client.get(f"/app/patients/{patient}")
    assert page.status_code == 200
    parsed = soup(page)
    assert parsed.select_one("#sessions") is None
    assert parsed.select_one("#adverse-events") is None
    assert parsed.select_one("svg.nprs-chart") is None
    assert parsed.find("a", href=f"/app/patients/{patient}/sessions/new") is None
    assert "Emergency" in parsed.select_one("#check-ins").get_text()  # type: ignore[union-attr]


def test_a_patient_of_another_clinic_is_not_found(service: Service) -> None:
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get("/app/patients/999999")
    assert page.status_code == 404
    assert "This page was not found" in visible_text(page)


def test_the_saved_notice_offers_the_take_home_sheet_in_the_patients_language(
    service: Service,
) -> None:
    patient = make_patient(service, language="es")
    sign_in(service.client, service.users[Role.clinician].email)
    page = soup(service.client.get(f"/app/patients/{patient}?saved=1"))
    assert page.find("a", href=f"/app/patients/{patient}/aftercare.pdf") is not None
