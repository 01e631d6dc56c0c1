"""Outcome trends on the patient chart in a real browser: a patient treated four times
at the neck with pain scores, two NDI scores and a PSFS, recorded through the API with
the clinician's browser session; the chart's outcomes (charts, summaries, forms) on a
desktop and a phone, in English and Spanish, with no serious accessibility problem and
nothing wider than a phone's screen."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from needlewise.demo import LOGINS
from support.browser import DESKTOP, PHONE, check_accessibility, screenshot
from support.server import Server
from support.treatment import consent_body, intake, signature_png

CLINICIAN = next(login for login in LOGINS if "Colorado" in login.name)
NDI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "reading", "headaches",
    "concentration", "work", "driving", "sleeping", "recreation",
]  # fmt: skip


def _signed_in(chromium: Any, server: Server, viewport: dict[str, Any], language: str) -> Any:
    context = chromium.new_context(**viewport)
    page = context.new_page()
    page.goto(f"{server.base}/app/login?lang={language}")
    page.fill("input[name=email]", CLINICIAN.email)
    page.fill("input[name=password]", CLINICIAN.password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{server.base}/app")
    return context, page


@pytest.fixture(scope="module")
def treated(chromium: Any, demo_server: Server, kb: Any) -> tuple[int, str]:
    """A patient with four neck sessions, their pain scores, NDI twice and one PSFS."""
    context, _page = _signed_in(chromium, demo_server, DESKTOP, "en")
    api, base = context.request, demo_server.base
    csrf = {"x-csrf-token": api.get(f"{base}/api/auth/me").json()["csrf_token"]}

    def post(path: str, body: Any, **params: Any) -> Any:
        answer = api.post(f"{base}{path}", data=body, headers=csrf, params=params or None)
        assert answer.status in (200, 201), answer.text()
        return answer.json()

    patient = post(
        "/api/patients",
        {"given_name": "Olga", "family_name": "Demo-Outcomes", "preferred_language": "es"},
    )["id"]
    post(f"/api/patients/{patient}/screenings", intake(kb), electrical_stimulation="false")
    body = consent_body("Olga Demo-Outcomes")
    body["signature_png"] = base64.b64encode(signature_png()).decode()
    post(f"/api/patients/{patient}/consents", body)
    provider = api.get(f"{base}/api/providers", headers=csrf).json()["items"]
    provider_id = next(
        p["id"] for p in provider if "Colorado" in p["name"] or p["licence_state"] == "CO"
    )
    sessions = []
    for days, before, after in ((28, 7, 5), (21, 6, 4), (14, 5, 3), (7, 4, 2)):
        performed = datetime.now(UTC) - timedelta(days=days)
        sessions.append(
            post(
                f"/api/patients/{patient}/sessions",
                {
                    "provider_id": provider_id,
                    "performed_at": performed.isoformat(),
                    "muscles": [
                        {
                            "muscle": "muscle.upper-trapezius",
                            "laterality": "left",
                            "needle_count": 2,
                        }
                    ],
                    "electrical_stimulation": False,
                    "pain_before": before,
                    "pain_after": after,
                },
            )["id"]
        )
    for session, at, scores in (
        (sessions[0], 28, [3, 2, 3, 2, 2, 2, 3, 2, 2, 2]),
        (sessions[3], 7, [1, 1, 2, 1, 1, 1, 1, 1, 1, 1]),
    ):
        post(
            f"/api/patients/{patient}/outcomes",
            {
                "measure": "measure.ndi",
                "session_id": session,
                "recorded_at": (datetime.now(UTC) - timedelta(days=at)).isoformat(),
                "items": [{"key": k, "score": s} for k, s in zip(NDI_KEYS, scores, strict=True)],
            },
        )
    post(
        f"/api/patients/{patient}/outcomes",
        {
            "measure": "measure.nprs",
            "recorded_at": (datetime.now(UTC) - timedelta(days=6)).isoformat(),
            "items": [{"score": 3}],
        },
    )
    link = post(f"/api/patients/{patient}/links", {"purpose": "check-in"})
    context.close()
    return int(patient), str(link["token"])


@pytest.mark.parametrize(
    ("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)], ids=["desktop", "phone"]
)
@pytest.mark.parametrize("language", ["en", "es"])
def test_outcome_trends_on_the_chart(
    chromium: Any,
    demo_server: Server,
    treated: tuple[int, str],
    language: str,
    device: str,
    viewport: Any,
) -> None:
    context, page = _signed_in(chromium, demo_server, viewport, language)
    page.goto(f"{demo_server.base}/app/patients/{treated[0]}?lang={language}#outcomes")
    page.wait_for_selector("#outcomes svg.measure-chart.ndi")
    assert page.locator("#outcomes svg.nprs-chart polygon.dot.other").count() == 1
    assert page.locator("#outcomes .outcome-summary ul.mcids li").count() == 4 + 2
    check_accessibility(page, f"chart outcomes ({device}, {language})")
    section = page.locator("#outcomes")
    section.screenshot(path=str(screenshot(page, f"clinic-outcomes-{device}-{language}")))
    if device == "desktop":
        page.locator("#record-odi summary").click()
        page.fill("#odi-section-lifting", "9")
        page.locator("#record-odi button[type=submit]").click()
        page.wait_for_selector("#record-odi .notice.danger")
        check_accessibility(page, f"refused ODI form ({language})")
        page.locator("#record-odi").screenshot(
            path=str(screenshot(page, f"clinic-outcome-form-refused-{language}"))
        )
    if device == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["viewport"]["width"], width
    context.close()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_check_in_pain_question_on_a_phone(
    chromium: Any, demo_server: Server, treated: tuple[int, str], language: str
) -> None:
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{demo_server.base}/p/{treated[1]}/check-in?lang={language}")
    question = page.locator("fieldset:has(input[name=pain])")
    assert question.locator("input[type=radio]").count() == 11
    question.locator("label.choice", has_text="4").first.click()
    assert page.locator("input[name=pain][value='4']").is_checked()
    check_accessibility(page, f"check-in with the pain question ({language})")
    question.screenshot(path=str(screenshot(page, f"patient-check-in-pain-{language}-phone")))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], width
    context.close()
