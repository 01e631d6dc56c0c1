"""The front desk and admin pages in a real browser (desktop), in English and Spanish:
the front desk registers a patient and makes a link shown with its address, a working
copy button and a QR code; an admin opens the accounts, providers, clinic and audit
pages. Every page: no serious accessibility problem (axe), nothing loaded from
elsewhere, no script or style refused by the content security policy, a screenshot."""

from __future__ import annotations

from typing import Any

import pytest

from needlewise.demo import LOGINS
from needlewise.security.roles import Role
from support.browser import DESKTOP, check_accessibility, screenshot
from support.server import Server

LOGIN = {login.role: login for login in LOGINS}


def signed_in(
    chromium: Any, server: Server, role: Role, language: str
) -> tuple[Any, Any, list[str]]:
    """A desktop page signed in as the demo user of ``role``, reading ``language``; and
    the list that collects console errors and requests to other hosts."""
    context = chromium.new_context(**DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page = context.new_page()
    problems: list[str] = []
    # a page answered with an error status (our 422 form, the "today" page that may not
    # exist yet) logs "Failed to load resource"; any other console error counts, e.g. a
    # script or style the content security policy refused
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(server.base) or request.url.startswith("data:")
            else problems.append(f"loaded {request.url}")
        ),
    )
    page.goto(f"{server.base}/app/login?lang={language}")
    login = LOGIN[role]
    page.fill("#email", login.email)
    page.fill("#password", login.password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.base}/app**")
    return context, page, problems


@pytest.mark.parametrize("language", ["en", "es"])
def test_front_desk_registers_a_patient_and_shows_a_link_with_a_qr_code(
    chromium: Any, demo_server: Server, language: str
) -> None:
    context, page, problems = signed_in(chromium, demo_server, Role.front_desk, language)
    page.goto(f"{demo_server.base}/app/patients/new")
    assert page.locator("html").get_attribute("lang") == language
    check_accessibility(page, f"new patient ({language})")
    screenshot(page, f"desk-new-patient-{language}")
    # a mistake first: the reason is shown next to the field
    page.fill("#given_name", "Rosa")
    page.fill("#family_name", "Browser-Test")
    page.fill("#email", "not-an-email")
    page.locator("#email").evaluate("field => field.type = 'text'")  # let the server judge
    page.click("main form button[type=submit]")
    assert page.locator("#email-error").is_visible()
    check_accessibility(page, f"new patient with an error ({language})")
    screenshot(page, f"desk-new-patient-error-{language}")
    page.fill("#email", "")
    page.fill("#birth_date", "1984-07-09")
    page.check("input[name=preferred_language][value=es]")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/links")
    check_accessibility(page, f"patient links ({language})")
    screenshot(page, f"desk-links-{language}")
    page.check("input[name=purpose][value=intake]")
    page.click("form.wide-form button[type=submit]")
    address = page.locator("#new-link")
    assert address.is_visible()
    url = address.input_value()
    assert url.startswith(f"{demo_server.base}/p/")
    qr = page.locator("svg.qr")
    assert qr.is_visible()
    assert qr.get_attribute("role") == "img"
    assert qr.get_attribute("aria-label")
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 150
    page.click("button[data-copy=new-link]")
    page.wait_for_selector("#new-link-status:not(:empty)")  # (no eval: the CSP forbids it)
    assert page.evaluate("navigator.clipboard.readText()") == url
    check_accessibility(page, f"new link ({language})")
    screenshot(page, f"desk-new-link-{language}")
    # the link opens on the patient side of the API
    token = url.rsplit("/", 1)[1]
    opened = page.request.get(f"{demo_server.base}/api/p/{token}")
    assert opened.status == 200
    assert not problems, problems
    context.close()


ADMIN_PAGES = ["/app/admin", "/app/admin/users", "/app/admin/providers", "/app/admin/clinic",
               "/app/admin/audit"]  # fmt: skip


@pytest.mark.parametrize("language", ["en", "es"])
def test_admin_pages(chromium: Any, demo_server: Server, language: str) -> None:
    context, page, problems = signed_in(chromium, demo_server, Role.admin, language)
    for path in ADMIN_PAGES:
        page.goto(f"{demo_server.base}{path}")
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").count() == 1
        name = path.removeprefix("/app/").replace("/", "-")
        check_accessibility(page, f"{path} ({language})")
        screenshot(page, f"{name}-{language}")
    # the providers page answers the state question for each demo provider
    page.goto(f"{demo_server.base}/app/admin/providers")
    # two Colorado PTs (the second from demo_history's past year) and one in New York
    assert page.locator("section.provider").count() == 3
    assert page.locator(".scope .badge.ok").count() == 2
    assert page.locator(".scope .badge.danger").count() == 1
    # a filtered audit view, by keyboard
    page.goto(f"{demo_server.base}/app/admin/audit")
    page.select_option("#outcome", "ok")
    page.fill("#resource_type", "patient")
    page.locator("#resource_type").press("Enter")
    page.wait_for_url("**resource_type=patient**")
    cells = page.locator("table.audit tbody tr td:nth-child(4)").all_inner_texts()
    assert cells
    assert all(cell.startswith("patient ") for cell in cells)
    check_accessibility(page, f"audit filtered ({language})")
    screenshot(page, f"admin-audit-filtered-{language}")
    assert not problems, problems
    context.close()
