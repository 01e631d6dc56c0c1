"""Outcomes on the patient chart: the NPRS trend with check-in and recorded scores, one
chart per function measure with its baseline and MCID band, a plain-text summary beside
each (per MCID, with population), the questionnaire due, and the forms that record a
score (a refused one shows the chart again with the field named; nothing stored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from needlewise.persistence.models import OutcomeScore
from needlewise.security.roles import Role
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import ready_patient, session_body

NDI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "reading", "headaches",
    "concentration", "work", "driving", "sleeping", "recreation",
]  # fmt: skip

#: what an empty table cell shows (an en dash)
NONE = "\u2013"


def record_session(
    service: Service, patient: int, provider: int, hours_ago: float, **f: Any
) -> int:
    body = session_body(provider, **f)
    body["muscles"] = [{"muscle": "upper-trapezius", "laterality": "left", "needle_count": 1}]
    body["performed_at"] = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    answer = service.client.post(
        f"/api/patients/{patient}/sessions", json=body, headers=service.headers(Role.clinician)
    )
    assert answer.status_code == 201, answer.text
    session_id: int = answer.json()["id"]
    return session_id


def ndi_form(csrf: str, scores: list[str], session: int | None = None) -> dict[str, str]:
    form = {"csrf_token": csrf, "measure": "measure.ndi", "session_id": str(session or "")}
    form.update({f"section.{k}": s for k, s in zip(NDI_KEYS, scores, strict=True)})
    return form


def stored(service: Service) -> int:
    with service.runtime.db.read() as tx:
        return tx.scalar(select(func.count()).select_from(OutcomeScore)) or 0


def test_ndi_recorded_from_the_chart_is_drawn_with_baseline_band_and_summary(
    service: Service,
) -> None:
    patient, provider = ready_patient(service)
    first = record_session(service, patient, provider, 50, pain_before=7, pain_after=5)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    page = soup(service.client.get(f"/app/patients/{patient}"))
    due = page.select_one(".notice.due")
    assert due is not None
    assert "Neck Disability Index" in due.get_text()
    assert page.select_one("details#record-ndi[open]") is not None
    assert page.select_one("details#record-odi[open]") is None
    labels = [lb.get_text(" ", strip=True) for lb in page.select("details#record-ndi label")]
    assert "3. lifting" in labels

    saved = service.client.post(
        f"/app/patients/{patient}/outcomes", data=ndi_form(csrf, ["2"] * 10, first)
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith("#outcomes")
    second = record_session(service, patient, provider, 20, pain_before=4)
    service.client.post(
        f"/app/patients/{patient}/outcomes", data=ndi_form(csrf, ["1"] * 10, second)
    )

    response = service.client.get(f"/app/patients/{patient}")
    page = soup(response)
    svg = page.select_one("svg.measure-chart.ndi")
    assert svg is not None
    assert svg["aria-labelledby"] == "ndi-title ndi-desc"
    assert len(svg.select("circle.dot.score")) == 2
    assert svg.select_one("line.baseline") is not None
    assert svg.select_one("rect.band") is not None  # 7.5 points around the baseline
    assert len(svg.select("line.outer")) == 2  # 19 percentage points = 9.5 points
    assert not svg.select("[style]")
    summary = page.select_one("#outcomes .outcome-chart:has(svg.ndi) .outcome-summary")
    assert summary is not None
    text = " ".join(summary.get_text(" ").split())
    assert "First 20 on" in text
    assert "latest 10 on" in text
    assert text.count("Improved by at least the minimal important change") == 2
    assert "MCID 7.5 points" in text
    assert "MCID 19 percentage points" in text
    assert "Adults with mechanical neck disorders (91 patients)" in text
    rows = [
        [c.get_text() for c in tr.find_all(["th", "td"])]
        for tr in page.select("table.measure-table.ndi tbody tr")
    ]
    assert [r[1:] for r in rows] == [["20 (40%)", "baseline"], ["10 (20%)", "-10"]]

    nprs = page.select_one("#outcomes .outcome-chart:has(svg.nprs-chart) .outcome-summary")
    assert nprs is not None
    nprs_text = " ".join(nprs.get_text(" ").split())
    assert "first 7 on" in nprs_text
    assert "recorded on its own" in nprs_text
    assert "latest 4 on" in nprs_text
    assert nprs_text.count("Improved by at least the minimal important change") == 4


def test_a_recorded_nprs_shows_as_its_own_point(service: Service) -> None:
    patient, provider = ready_patient(service)
    record_session(service, patient, provider, 50, pain_before=6, pain_after=3)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    saved = service.client.post(
        f"/app/patients/{patient}/outcomes",
        data={"csrf_token": csrf, "measure": "measure.nprs", "score": "5", "session_id": ""},
    )
    assert saved.status_code == 303, saved.text
    page = soup(service.client.get(f"/app/patients/{patient}"))
    svg = page.select_one("svg.nprs-chart")
    assert svg is not None
    assert len(svg.select("polygon.dot.other")) == 1
    cells = [
        [td.get_text() for td in tr.find_all("td")]
        for tr in page.select("table.nprs-table tbody tr")
    ]
    assert cells == [["6", "3", NONE], [NONE, NONE, "5"]]


def test_a_refused_form_names_the_field_and_stores_nothing(service: Service) -> None:
    patient, provider = ready_patient(service)
    record_session(service, patient, provider, 5)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    refused = service.client.post(
        f"/app/patients/{patient}/outcomes", data=ndi_form(csrf, ["1"] * 9 + ["7"])
    )
    assert refused.status_code == 422
    page = soup(refused)
    alert = page.select_one("details#record-ndi[open] .notice.danger")
    assert alert is not None
    assert "from 0 to 5" in alert.get_text()
    assert alert.select_one("a")["href"] == "#ndi-section-recreation"  # type: ignore[index]
    field = page.select_one("#ndi-section-recreation")
    assert field is not None
    assert field["aria-invalid"] == "true"
    assert field["value"] == "7"  # what was typed is kept
    assert stored(service) == 0

    psfs = service.client.post(
        f"/app/patients/{patient}/outcomes",
        data={
            "csrf_token": csrf,
            "measure": "measure.psfs",
            "activity.0.name": "stairs",
            "activity.0.score": "3",
        },
    )
    assert psfs.status_code == 422
    assert "3 to 5" in visible_text(psfs)
    assert stored(service) == 0


def test_the_chart_in_spanish(service: Service) -> None:
    patient, provider = ready_patient(service)
    first = record_session(service, patient, provider, 50, pain_before=7)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    service.client.post(f"/app/patients/{patient}/outcomes", data=ndi_form(csrf, ["2"] * 10, first))
    service.client.post(
        f"/app/patients/{patient}/outcomes", data=ndi_form(csrf, ["2"] * 6 + ["1"] * 4)
    )
    text = visible_text(service.client.get(f"/app/patients/{patient}?lang=es"))
    assert "Índice de discapacidad del cuello" in text
    assert "Cambió menos que el cambio mínimo importante" in text
    assert "Adultos con trastornos mecánicos del cuello (91 pacientes)" in text
    assert "levantar cosas" in text
