"""The clinician's pages in a real browser (desktop): the today list, a patient's chart
and the session note with its body chart — no serious accessibility problem in English
or Spanish, screenshots of each, a session recorded by clicking the figure, and a fresh
emergency check-in at the top of the list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from needlewise.demo import LOGINS, DemoLogin
from needlewise.security.roles import Role
from support.browser import DESKTOP, PHONE, check_accessibility, screenshot
from support.server import Server

CLINICIAN = next(login for login in LOGINS if "Colorado" in login.name)
FRONT_DESK = next(login for login in LOGINS if login.role is Role.front_desk)


def signed_in(
    chromium: Any, server: Server, language: str = "en", login: DemoLogin = CLINICIAN
) -> tuple[Any, Any, list[str]]:
    """A desktop browser signed in through the login page (the today list open)."""
    context = chromium.new_context(**DESKTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.base}/app/login?lang={language}")
    page.fill("input[name=email]", login.email)
    page.fill("input[name=password]", login.password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{server.base}/app")
    return context, page, problems


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_clinician_pages_are_accessible(
    chromium: Any, demo_server: Server, language: str
) -> None:
    context, page, problems = signed_in(chromium, demo_server, language)
    assert page.locator("html").get_attribute("lang") == language
    check_accessibility(page, f"today ({language})")
    screenshot(page, f"clinic-today-{language}")
    page.locator("table.patients a", has_text="Demo-Treated").click()
    page.wait_for_selector("#screenings")
    check_accessibility(page, f"chart ({language})")
    screenshot(page, f"clinic-chart-{language}")
    page.locator(".actions a.button").first.click()
    page.wait_for_selector("form.session-note")
    check_accessibility(page, f"session note ({language})")
    screenshot(page, f"clinic-session-note-{language}")
    assert not problems, problems  # a CSP refusal shows up here
    context.close()


def test_a_clinician_records_a_session_on_the_body_chart(
    chromium: Any, demo_server: Server
) -> None:
    context, page, problems = signed_in(chromium, demo_server)
    page.locator("table.patients a", has_text="Demo-Ready").click()
    page.wait_for_selector("#screenings")
    page.get_by_role("link", name="Record a session").click()
    page.wait_for_selector("form.session-note")
    assert page.locator(".cpt-code").count() == 0
    for muscle in ("upper-trapezius", "levator-scapulae", "infraspinatus"):
        page.locator(f'svg.body .hotspot[data-muscle="muscle.{muscle}"][data-side="left"]').click()
        assert page.locator(f"#muscle-{muscle}").is_checked()
    # the figure's picks are the list's: sides set, and the coding follows (htmx)
    assert page.locator("#side-muscle-upper-trapezius").input_value() == "left"
    page.wait_for_function(
        "document.querySelector('.cpt-code') && "
        "document.querySelector('.cpt-code').textContent === '20561'"
    )
    assert page.locator("svg.body .hotspot.picked").count() == 3
    screenshot(page, "clinic-session-note-three-muscles")
    # the signed-in clinician's own provider record is chosen already
    assert "Colorado" in page.locator("#provider_id option:checked").inner_text()
    page.fill("#pain_before", "6")
    page.fill("#pain_after", "3")
    page.get_by_role("button", name="Save the session").click()
    page.wait_for_selector("text=The session is saved.")
    assert "CPT 20561" in page.locator("#sessions").inner_text()
    assert page.locator("svg.nprs-chart").count() == 1
    screenshot(page, "clinic-chart-after-session")
    assert not problems, problems
    context.close()


def test_a_new_emergency_check_in_is_at_the_top_of_the_list(
    chromium: Any, demo_server: Server
) -> None:
    # front desk sends a check-in link (the JSON API, with the browser's session) ...
    desk, _page, _problems = signed_in(chromium, demo_server, login=FRONT_DESK)
    api = desk.request
    csrf = {"x-csrf-token": api.get(f"{demo_server.base}/api/auth/me").json()["csrf_token"]}
    found = api.get(f"{demo_server.base}/api/patients?q=Demo-Treated").json()
    patient = found["items"][0]["id"]
    link = api.post(
        f"{demo_server.base}/api/patients/{patient}/links",
        data={"purpose": "check-in"},
        headers=csrf,
    )
    assert link.status == 201, link.text()
    token = link.json()["token"]
    desk.close()
    # ... and the patient reports trouble breathing through it
    sent = httpx.post(
        f"{demo_server.base}/api/p/{token}/check-in",
        json={"symptoms": ["symptom.breathing-trouble"], "language": "en"},
        timeout=10,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["disposition"] == "emergency"
    context, page, _problems = signed_in(chromium, demo_server)
    first = page.locator("ol.check-ins > li").first
    assert first.get_attribute("id") == f"check-in-{sent.json()['id']}"
    assert "emergency" in (first.get_attribute("class") or "")
    assert "Demo-Treated" in first.inner_text()
    # acknowledging it in place (htmx) leaves the row marked
    first.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector(f"#check-in-{sent.json()['id']} .ack-done")
    context.close()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_clinician_pages_on_a_phone(chromium: Any, demo_server: Server, language: str) -> None:
    """A clinician on a phone (a home visit, a break room): the same pages at 390 px,
    with no serious accessibility problem, and nothing wider than the screen."""
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{demo_server.base}/app/login?lang={language}")
    page.fill("input[name=email]", CLINICIAN.email)
    page.fill("input[name=password]", CLINICIAN.password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{demo_server.base}/app")
    for name, path in (
        ("today", "/app"),
        ("chart", "/app/patients/2"),
        ("session-note", "/app/patients/5/sessions/new"),
    ):
        page.goto(f"{demo_server.base}{path}")
        check_accessibility(page, f"{name} ({language}, phone)")
        screenshot(page, f"clinic-{name}-{language}-phone")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (name, overflow)
    context.close()
