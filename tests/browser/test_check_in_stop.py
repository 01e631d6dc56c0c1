"""The patient's page that stops check-in messages (``/p/{token}/stop``), on a phone in
Spanish and on a desktop in English: axe on every page, photographed before and after
the confirm button."""

from __future__ import annotations

from typing import Any

import pytest

from support.browser import DESKTOP, PHONE, check_accessibility, patient_links, screenshot
from support.server import Server


@pytest.mark.browser
@pytest.mark.parametrize(
    ("language", "device", "button"),
    [
        ("es", PHONE, "Dejar de recibir mis mensajes de control"),
        ("en", DESKTOP, "Stop my check-in messages"),
    ],
)
def test_stop_check_in_messages(
    demo_server: Server, chromium: Any, language: str, device: dict[str, Any], button: str
) -> None:
    tokens = patient_links(demo_server, language, f"Stop{language}")
    context = chromium.new_context(**device)
    page = context.new_page()
    size = "phone" if device is PHONE else "desktop"
    page.goto(f"{demo_server.base}/p/{tokens['check-in']}/stop?lang={language}")
    check_accessibility(page, f"stop ({language})")
    screenshot(page, f"check-in-stop-{language}-{size}")
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    assert page.locator("[role=status]").count() == 1
    check_accessibility(page, f"stopped ({language})")
    screenshot(page, f"check-in-stopped-{language}-{size}")
    context.close()
