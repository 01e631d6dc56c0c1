"""What every page shares: the pages' content security policy, no caching, the language
(picked, remembered, from the browser), error pages as pages, and the static files."""

from __future__ import annotations

import pytest

from needlewise.web.middleware import PAGE_CSP
from support.pages import sign_in, soup, visible_text
from support.service import Service


def test_home_page_has_the_strict_policy_and_is_not_cached(service: Service) -> None:
    page = service.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert "'unsafe-inline'" not in PAGE_CSP
    assert "script-src 'self'" in PAGE_CSP
    assert page.headers["cache-control"] == "no-store"
    html = soup(page)
    assert not html.find_all("script", src=False), "an inline script"
    assert not html.find_all(style=True), "an inline style"
    assert not html.find_all("style")


def test_the_api_keeps_its_own_policy(service: Service) -> None:
    answer = service.client.get("/api/knowledge")
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9,es;q=0.5", "en"),
        ("fr-FR,fr;q=0.9,es;q=0.4", "es"),
        ("fr-FR", "en"),
        ("es;q=0, en;q=0.1", "en"),
        ("es;q=bogus", "en"),
        ("", "en"),
    ],
)
def test_the_browser_language_counts_when_nothing_was_picked(
    service: Service, header: str, language: str
) -> None:
    page = service.client.get("/", headers={"accept-language": header})
    assert soup(page).html["lang"] == language  # type: ignore[index]


def test_a_picked_language_is_remembered_and_beats_the_browser(service: Service) -> None:
    client = service.client
    picked = client.get("/?lang=es", headers={"accept-language": "en"})
    assert "nw_lang=es" in picked.headers["set-cookie"]
    again = client.get("/", headers={"accept-language": "en"})
    assert soup(again).html["lang"] == "es"  # type: ignore[index]
    assert "Punción seca, con seguridad" in visible_text(again)


def test_an_unknown_language_is_ignored(service: Service) -> None:
    page = service.client.get("/?lang=xx", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert soup(page).html["lang"] == "en"  # type: ignore[index]
    assert "nw_lang" not in page.headers.get("set-cookie", "")


def test_the_language_menu_links_this_page_in_each_language(service: Service) -> None:
    home = soup(service.client.get("/?lang=en"))
    menu = home.find("nav", class_="langs")
    assert menu is not None
    links = {a["hreflang"]: a["href"] for a in menu.find_all("a")}
    assert links == {"en": "/?lang=en", "es": "/?lang=es"}


def test_a_missing_page_is_a_page_in_the_readers_language(service: Service) -> None:
    answer = service.client.get("/app/no-such-page?lang=es")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "No encontramos esta página" in visible_text(answer)
    assert answer.headers["content-security-policy"] == PAGE_CSP


def test_an_api_error_stays_json(service: Service) -> None:
    answer = service.client.get("/api/no-such-thing")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")


def test_the_emergency_plan_is_one_click_from_a_staff_page(service: Service) -> None:
    client = service.client
    sign_in(client, "clinician@clinic.example")
    plan = client.get("/app/emergency-plan")
    assert plan.status_code == 200
    page = soup(plan)
    menu = page.find("nav", class_="main-nav")
    assert menu is not None
    assert menu.find("a", href="/app/emergency-plan") is not None
    kb = service.runtime.kb
    text = visible_text(plan)
    assert kb.data.emergency_plan.title.en in text
    for event in kb.data.emergency_plan.events:
        assert event.title.en in text
        assert event.steps[0].text.en in text
    assert page.find("details", class_="sources") is not None
    spanish = client.get("/app/emergency-plan?lang=es")
    assert kb.data.emergency_plan.events[0].title.es in visible_text(spanish)


@pytest.mark.parametrize(
    "path",
    [
        "/static/app/base.css",
        "/static/app/base.js",
        "/static/htmx/htmx.min.js",
        "/static/signature_pad/signature_pad.umd.min.js",
    ],
)
def test_static_files_are_served_from_the_package(service: Service, path: str) -> None:
    answer = service.client.get(path)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"
    assert len(answer.content) > 100


def test_static_files_cannot_leave_their_folder(service: Service) -> None:
    for path in ("/static/../config.py", "/static/%2e%2e/config.py", "/static/app/../../app.py"):
        assert service.client.get(path).status_code == 404, path


def test_static_files_are_compressed_and_pages_are_not(service: Service) -> None:
    """Scripts travel gzipped; pages never are (they hold CSRF tokens and patient links
    next to text a visitor chose: compressing both would leak the secret, BREACH)."""
    gz = {"accept-encoding": "gzip"}
    script = service.client.get("/static/htmx/htmx.min.js", headers=gz)
    assert script.headers.get("content-encoding") == "gzip"
    assert int(script.headers["content-length"]) < 20_000
    page = service.client.get("/app/login", headers=gz)
    assert "content-encoding" not in page.headers
    api = service.client.get("/api/knowledge", headers=gz)
    assert "content-encoding" not in api.headers
