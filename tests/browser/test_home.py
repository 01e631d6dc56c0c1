"""The home page in a real browser: both languages, phone and desktop, no serious
accessibility problem, no asset from anywhere but this server, the language remembered."""

from __future__ import annotations

from typing import Any

import pytest

from support.browser import DESKTOP, PHONE, check_accessibility, screenshot
from support.server import Server


@pytest.mark.parametrize("language", ["en", "es"])
def test_home_page_in_both_languages_on_a_phone(
    chromium: Any, demo_server: Server, language: str
) -> None:
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    loaded: list[str] = []
    page.on("request", lambda request: loaded.append(request.url))
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{demo_server.base}/?lang={language}")
    heading = page.locator("h1").inner_text()
    assert heading == {"en": "Dry needling, safely", "es": "Punción seca, con seguridad"}[language]
    assert page.locator("html").get_attribute("lang") == language
    check_accessibility(page, f"home ({language}, phone)")
    screenshot(page, f"home-{language}-phone")
    assert all(url.startswith(demo_server.base) for url in loaded), loaded
    assert not problems, problems  # a CSP refusal shows up here
    # the choice is remembered without the query
    page.goto(f"{demo_server.base}/")
    assert page.locator("html").get_attribute("lang") == language
    context.close()


def test_home_page_on_a_desktop_by_keyboard(chromium: Any, demo_server: Server) -> None:
    context = chromium.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{demo_server.base}/?lang=en")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to the main content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    screenshot(page, "home-en-desktop")
    context.close()
