"""The /learn pages in a real browser on a phone, in Spanish and English: index to the
dry-needling article, the state answer, the take-home sheet; no serious accessibility
problem, nothing loaded from elsewhere, no script or style refused by the CSP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.browser import PHONE, check_accessibility, screenshot
from support.server import Server

TITLES = {
    "en": ("Learn about dry needling", "Dry needling", "Who may do dry needling in your state?"),
    "es": (
        "Aprenda sobre la punción seca",
        "Punción seca",
        "¿Quién puede hacer punción seca en su estado?",
    ),
}


@pytest.fixture
def phone(chromium: Any, demo_server: Server) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A phone page, the URLs it loaded and the console errors it saw."""
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    loaded: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: loaded.append(request.url))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    yield page, loaded, problems
    context.close()


@pytest.mark.parametrize("language", ["es", "en"])
def test_from_the_index_to_the_dry_needling_article(
    phone: tuple[Any, list[str], list[str]], demo_server: Server, language: str
) -> None:
    page, loaded, problems = phone
    index_title, article_title, _ = TITLES[language]
    page.goto(f"{demo_server.base}/learn?lang={language}")
    assert page.locator("h1").inner_text() == index_title
    assert page.locator(".article-cards > li").count() == 4
    check_accessibility(page, f"learn index ({language}, phone)")
    screenshot(page, f"learn-index-{language}-phone")

    page.locator(".article-cards > li").first.locator("h2 a").click()
    page.wait_for_url("**/learn/dry-needling")
    assert page.locator("h1").inner_text() == article_title
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator(".disclaimer").is_visible()
    assert page.locator(".checklist li").count() == 4
    check_accessibility(page, f"dry-needling article ({language}, phone)")
    screenshot(page, f"learn-article-{language}-phone")
    assert all(url.startswith(demo_server.base) for url in loaded), loaded
    assert not problems, problems


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_state_answer(
    phone: tuple[Any, list[str], list[str]], demo_server: Server, language: str
) -> None:
    page, _, problems = phone
    page.goto(f"{demo_server.base}/learn/who-can-do-it?lang={language}")
    assert page.locator("h1").inner_text() == TITLES[language][2]
    page.select_option("select#state", "CO")
    page.locator("form.state-form button[type=submit]").click()
    page.wait_for_url("**/learn/who-can-do-it?state=CO")
    assert page.locator(".scope-result").count() == 3
    check_accessibility(page, f"state answer ({language}, phone)")
    screenshot(page, f"learn-scope-{language}-phone")
    assert not problems, problems


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_take_home_sheet(
    phone: tuple[Any, list[str], list[str]], demo_server: Server, language: str
) -> None:
    page, _, problems = phone
    page.goto(f"{demo_server.base}/learn/aftercare?lang={language}")
    assert page.locator(".sheet-call-911").is_visible()
    check_accessibility(page, f"take-home sheet ({language}, phone)")
    screenshot(page, f"learn-aftercare-{language}-phone")
    page.emulate_media(media="print")
    assert not page.locator(".actions").is_visible()  # no buttons on paper
    assert not problems, problems
