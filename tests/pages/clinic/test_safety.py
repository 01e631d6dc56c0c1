"""``/app/safety``, ``/app/safety.csv`` and ``/app/safety.pdf``: the seeded history's
numbers on the page, in the CSV and in the PDF; who may see them; bad periods named;
the empty clinic."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from needlewise.security.roles import Role
from support.audit import entries_after, last_id
from support.pages import sign_in, soup, visible_text
from support.safety_history import seed_history
from support.service import Service

PERIOD = "?start=2025-06-16&end=2026-06-15"


def test_the_page_shows_the_rates_beside_the_published_ones(service: Service) -> None:
    seed_history(service)
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get(f"/app/safety{PERIOD}")
    assert page.status_code == 200, page.text
    text = visible_text(page)
    assert "Treatments (sessions recorded) in this period: 5." in text
    assert "Small numbers: read with care." in text
    rows = {
        r.select_one("th").get_text(" ", strip=True): r.get_text(" ", strip=True)  # type: ignore[union-attr]
        for r in soup(page).select("table.safety-table:not(.groups) tbody tr")
    }
    # 1 of 5 treatments: 20.0 (Wilson 3.6-62.4, Newcombe-style); 2 of 5: 40.0 (11.8-76.9)
    assert rows["This clinic"] == "This clinic 5 2 20.0 (3.6\u201362.4) 2 40.0 (11.8\u201376.9)"
    assert "19.2 (18.3\u201320.1)" in rows["Brady 2014"] or "19.2 (18.3\u201320.1)" in text
    assert "The authors' own estimate: at most 0.04 per 100." in text
    assert len(soup(page).select("svg.interval-chart")) == 2
    assert "Hombro" not in text
    assert "Shoulder and shoulder blade" in text
    assert soup(page).select_one('a[href="/app/safety"][aria-current="page"]') is not None
    es = service.client.get(f"/app/safety{PERIOD}&lang=es")
    assert "Hombro y omóplato" in visible_text(es)


def test_csv_has_a_row_per_group_and_the_published_rows(service: Service) -> None:
    history = seed_history(service)
    sign_in(service.client, service.users[Role.admin].email)
    answer = service.client.get(f"/app/safety.csv{PERIOD}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    kinds = [(r["kind"], r["group"]) for r in rows]
    assert kinds[0] == ("clinic", "Synthetic Test Clinic")
    assert ("region", "region.neck") in kinds
    assert [k for k in kinds if k[0] == "provider"] == [
        ("provider", "Synthetic pt CO"),
        ("provider", "Synthetic pt CO"),
    ]
    clinic = rows[0]
    assert (clinic["treatments"], clinic["minor_events"], clinic["minor_treatments"]) == (
        "5",
        "2",
        "1",
    )
    assert (clinic["minor_per_100"], clinic["minor_ci_low"], clinic["minor_ci_high"]) == (
        "20.0000",
        "3.6224",
        "62.4465",
    )
    assert (clinic["significant_treatments"], clinic["emergency_treatments"]) == ("2", "1")
    assert (clinic["period_start"], clinic["period_end"], clinic["time_zone"]) == (
        "2025-06-16",
        "2026-06-15",
        "America/Denver",
    )
    published = [r for r in rows if r["kind"] == "published"]
    assert [r["group"] for r in published] == [
        "source.brady-2014",
        "source.boyce-2020",
        "source.boyce-2020",
        "source.brady-2014",
    ]
    brady_zero = published[3]
    assert (brady_zero["significant_events"], brady_zero["treatments"]) == ("0", "7629")
    assert brady_zero["significant_ci_low"] == "0.0000"
    assert "authors' estimate" in brady_zero["note"]
    assert brady_zero["source"].startswith("Brady S, McEvoy J")
    assert history.p1 != history.p2


def test_pdf_for_the_quality_meeting(service: Service) -> None:
    seed_history(service)
    sign_in(service.client, service.users[Role.clinician].email)
    answer = service.client.get(f"/app/safety.pdf{PERIOD}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    assert len(reader.pages) >= 1
    text = " ".join((p.extract_text() or "") for p in reader.pages)
    assert "Safety record" in text
    assert "Brady" in text
    assert "Boyce" in text
    assert "Small numbers" in text
    assert "Ada Synthetic" not in text
    assert "Bo Synthetic" not in text


def test_front_desk_is_refused_and_audited(service: Service) -> None:
    sign_in(service.client, service.users[Role.front_desk].email)
    page = service.client.get("/app")
    assert soup(page).select_one('a[href="/app/safety"]') is None
    for path in ("/app/safety", "/app/safety.csv", "/app/safety.pdf"):
        before = last_id(service)
        answer = service.client.get(path)
        assert answer.status_code == 403, path
        entries = entries_after(service, before)
        assert [(e["outcome"], e["reason"]) for e in entries] == [("denied", "forbidden")]


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("?start=2026-13-01", "start"),
        ("?end=yesterday", "end"),
        ("?start=2026-02-01&end=2026-01-01", "end"),
    ],
)
def test_bad_period_parameters_are_named(service: Service, query: str, where: str) -> None:
    sign_in(service.client, service.users[Role.clinician].email)
    for path in ("/app/safety", "/app/safety.csv"):
        answer = service.client.get(f"{path}{query}")
        assert answer.status_code == 422, (path, answer.status_code)
        assert where in visible_text(answer), visible_text(answer)


def test_an_empty_clinic_says_so(service: Service) -> None:
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get("/app/safety")
    assert page.status_code == 200
    assert "No treatments were recorded in this period, so there are no rates to show." in (
        visible_text(page)
    )
    csv_rows = list(csv.DictReader(io.StringIO(service.client.get("/app/safety.csv").text)))
    assert csv_rows[0]["treatments"] == "0"
    assert csv_rows[0]["minor_per_100"] == ""
    assert service.client.get("/app/safety.pdf").status_code == 200
