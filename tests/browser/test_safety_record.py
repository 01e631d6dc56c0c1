"""The safety record in a real browser: the demo clinic's past year (``demo_history``)
at desktop and phone size, in English and Spanish, with no serious accessibility
problem and no script or style refused; screenshots of each."""

from __future__ import annotations

from typing import Any

import pytest

from needlewise.demo import LOGINS
from support.browser import DESKTOP, PHONE, check_accessibility, screenshot
from support.server import Server

CLINICIAN = next(login for login in LOGINS if "Colorado" in login.name)


@pytest.mark.browser
@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_safety_record_page(
    chromium: Any, demo_server: Server, language: str, size: str
) -> None:
    context = chromium.new_context(**(DESKTOP if size == "desktop" else PHONE))
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{demo_server.base}/app/login?lang={language}")
    page.fill("input[name=email]", CLINICIAN.email)
    page.fill("input[name=password]", CLINICIAN.password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{demo_server.base}/app")
    page.locator('a[href="/app/safety"]').click()
    page.wait_for_selector("svg.interval-chart")
    assert page.locator("svg.interval-chart").count() == 2
    assert page.locator("table.safety-table").count() == 3
    check_accessibility(page, f"safety record ({language}, {size})")
    screenshot(page, f"clinic-safety-{size}-{language}")
    assert not problems, problems
    context.close()
