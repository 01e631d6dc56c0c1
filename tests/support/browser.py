"""Browser tests: Debian Chromium driven by Playwright, axe-core on every page, screenshots.

* :func:`launch` — Chromium from ``/usr/bin/chromium`` (``make test`` installs the Debian
  package; ``playwright install`` is never used: it downloads its own browser).
* :func:`check_accessibility` — runs axe-core (bundled by axe-playwright-python) on the
  page and fails on any *serious* or *critical* violation, naming rule, impact and the
  elements.
* :func:`screenshot` — saves the whole page to ``var/screenshots/NAME.png`` (the folder
  the README names); look at them before calling a page done.
* :func:`patient_links` — a new demo patient's intake, consent and check-in links;
* :data:`PHONE` — the viewport and touch of a phone (390 by 844, like an iPhone 13/14).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from needlewise.demo import LOGINS
from needlewise.security.roles import Role

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("NEEDLEWISE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_path() -> str:
    """Debian's Chromium; skips (fails under CI) when it is not installed."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found:
        return found
    message = "Debian chromium is not installed (make test installs it: apt-get install chromium)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


def launch(playwright: Any) -> Any:
    """Chromium, headless, with no network of its own (updates, sync, telemetry off)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)


def check_accessibility(page: Any, where: str) -> dict[str, Any]:
    """Run axe-core on ``page``; fail on a serious or critical violation. Returns axe's
    full answer (the test may look at more)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    answer: dict[str, Any] = results.response
    blocking = [v for v in answer["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    lines = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in blocking
    ]
    assert not blocking, f"axe on {where}:\n" + "\n".join(lines)
    return answer


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page as ``var/screenshots/<name>.png`` and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


#: the most a page may transfer, everything it loads included (PDFs aside): issue 11
MAX_PAGE_BYTES = 100 * 1024


def transferred(browser: Any, url: str, cookies: list[dict[str, Any]] | None = None) -> int:
    """Bytes on the wire (headers and bodies, as sent: compressed where they are) to load
    ``url`` with an empty cache, in a fresh context (with ``cookies``, e.g. a session)."""
    context = browser.new_context(**PHONE)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    total = 0

    def add(request: Any) -> None:
        nonlocal total
        sizes = request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]

    page.on("requestfinished", add)
    answer = page.goto(url, wait_until="networkidle")
    assert answer is not None, url
    assert answer.status == 200, (url, answer.status)
    assert page.url == url, f"{url} went to {page.url}"  # not weighed: the sign-in page
    context.close()
    return total


def patient_links(server: Any, language: str, given: str) -> dict[str, str]:
    """A new demo patient and one link token per purpose, made through the JSON API as
    the demo's front desk (``server`` runs the demo clinic)."""
    front_desk = next(login for login in LOGINS if login.role is Role.front_desk)
    with httpx.Client(base_url=server.base, timeout=30) as client:
        login = client.post(
            "/api/auth/login", json={"email": front_desk.email, "password": front_desk.password}
        )
        assert login.status_code == 200, login.text
        headers = {
            "x-csrf-token": login.json()["csrf_token"],
            "cookie": f"nw_session={login.cookies['nw_session']}",
        }
        patient = client.post(
            "/api/patients",
            json={"given_name": given, "family_name": "Prueba", "preferred_language": language},
            headers=headers,
        )
        assert patient.status_code == 201, patient.text
        tokens = {}
        for purpose in ("intake", "consent", "check-in"):
            made = client.post(
                f"/api/patients/{patient.json()['id']}/links",
                json={"purpose": purpose},
                headers=headers,
            )
            assert made.status_code == 201, made.text
            tokens[purpose] = made.json()["token"]
        return tokens
