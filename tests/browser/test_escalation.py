"""Escalation in a real browser (issue 13): an emergency check-in sent while the today
list is open appears at its top without a reload and is announced in the live region;
the patient's answer page puts what to do first (call 911, or call the clinic today) and
only then that the clinic was told. axe passes; screenshots in English and Spanish, on a
desktop and a phone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from needlewise.demo import LOGINS
from support.browser import DESKTOP, PHONE, check_accessibility, patient_links, screenshot
from support.server import Server

CLINICIAN = next(login for login in LOGINS if "Colorado" in login.name)
#: how long the page may take to show a new check-in: its poll is every 12 s
POLL_WAIT_MS = 30_000


def open_today(chromium: Any, server: Server, size: dict[str, Any], language: str) -> Any:
    context = chromium.new_context(**size)
    page = context.new_page()
    page.goto(f"{server.base}/app/login?lang={language}")
    page.fill("input[name=email]", CLINICIAN.email)
    page.fill("input[name=password]", CLINICIAN.password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{server.base}/app")
    return context, page


@pytest.mark.browser
def test_an_emergency_appears_at_the_top_without_a_reload(
    chromium: Any, demo_server: Server
) -> None:
    context, page = open_today(chromium, demo_server, DESKTOP, "en")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.evaluate("window.stillTheSamePage = true")  # a reload would forget it
    tokens = patient_links(demo_server, "es", "Elena")
    sent = httpx.post(
        f"{demo_server.base}/api/p/{tokens['check-in']}/check-in",
        json={
            "text": "me falta el aire y me duele el pecho",
            "language": "es",
            "treated_regions": ["region.chest"],
            "hours_since_treatment": 3.0,
        },
        timeout=60,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["disposition"] == "emergency"
    row = f"check-in-{sent.json()['id']}"
    # the page's own poll brings it (a locator wait: the page's CSP forbids eval)
    page.locator(f"ol.check-ins > li:first-child#{row}").wait_for(timeout=POLL_WAIT_MS)
    assert page.evaluate("window.stillTheSamePage") is True
    news = page.locator("#queue-news")
    assert news.get_attribute("role") == "alert"
    assert "New emergency check-ins: 1" in news.inner_text()
    first = page.locator("ol.check-ins > li").first
    assert "Waiting since" in first.inner_text()
    assert "Clinic alerts sent: 0" in first.inner_text()  # no worker here: it waits
    check_accessibility(page, "today with a new emergency (en)")
    screenshot(page, "escalation-today-en")
    page.set_viewport_size(PHONE["viewport"])
    screenshot(page, "escalation-today-en-phone")
    assert not problems, problems  # a CSP refusal would show here
    context.close()

    context, page = open_today(chromium, demo_server, PHONE, "es")
    assert page.locator("ol.check-ins > li").first.get_attribute("id") == row
    assert "Esperando desde" in page.locator("ol.check-ins > li").first.inner_text()
    check_accessibility(page, "today (es, phone)")
    screenshot(page, "escalation-today-es-phone")
    page.set_viewport_size(DESKTOP["viewport"])
    screenshot(page, "escalation-today-es")
    context.close()


#: (free text that means an emergency, the first words of the clinic notice)
FIRST = {
    "en": ("I am short of breath and my chest hurts", "We have also told your clinic"),
    "es": ("me falta el aire y me duele el pecho", "También le avisamos a su clínica"),
}
SEND = {"en": "Send", "es": "Enviar"}


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_patient_acts_first_then_hears_the_clinic_was_told(
    chromium: Any, demo_server: Server, language: str
) -> None:
    text, told = FIRST[language]
    tokens = patient_links(demo_server, language, "Rosa")
    context = chromium.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{demo_server.base}/p/{tokens['check-in']}/check-in")
    page.locator("input[name='treated-regions'][value='region.chest']").check()
    page.fill("#details", text)
    page.get_by_role("button", name=SEND[language], exact=True).click()
    page.wait_for_selector("a.call-911")
    main = page.locator("main")
    assert main.locator("a").first.get_attribute("href") == "tel:911"  # 911 comes first
    notice = page.locator("p.clinic-told")
    assert notice.inner_text().startswith(told)
    assert "911" in notice.inner_text()  # ... and the alert never replaces it
    order = page.evaluate(
        "document.querySelector('a.call-911').compareDocumentPosition("
        "document.querySelector('p.clinic-told')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert order
    check_accessibility(page, f"check-in done, emergency ({language})")
    screenshot(page, f"escalation-patient-emergency-{language}")
    page.set_viewport_size(PHONE["viewport"])
    screenshot(page, f"escalation-patient-emergency-{language}-phone")

    # call-provider: call the clinic today (its phone), then that the clinic was told
    page.set_viewport_size(DESKTOP["viewport"])
    page.goto(f"{demo_server.base}/p/{tokens['check-in']}/check-in")
    for answer in page.locator("section.symptom-group").first.locator("input[value=N]").all():
        answer.check()
    page.locator("input[name='symptom.fever'][value='Y']").check()
    page.get_by_role("button", name=SEND[language], exact=True).click()
    page.wait_for_selector("p.clinic-told")
    phones = page.locator("a.call-clinic")
    assert phones.count() >= 1
    assert (phones.first.get_attribute("href") or "").startswith("tel:")
    assert page.evaluate(
        "document.querySelector('a.call-clinic').compareDocumentPosition("
        "document.querySelector('p.clinic-told')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert page.locator("p.clinic-told").inner_text().startswith(told)
    check_accessibility(page, f"check-in done, call-provider ({language})")
    screenshot(page, f"escalation-patient-call-provider-{language}")
    page.set_viewport_size(PHONE["viewport"])
    screenshot(page, f"escalation-patient-call-provider-{language}-phone")
    context.close()
