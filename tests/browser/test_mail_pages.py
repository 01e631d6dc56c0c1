"""The admin's Mail page and the staff Outbox in a real browser, desktop and phone, in
English and Spanish: axe finds no serious problem, and a screenshot of each is saved.

The demo clinic gets a few messages in every state; the email ones are really sent
through ``services/delivery.py`` to the demo mail catcher (``jobs/catcher.py``), whose
folder the server is told about, so the Mail page shows what the catcher received."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from needlewise.demo import LOGINS, load_demo
from needlewise.jobs.catcher import start_catcher
from needlewise.jobs.smtp import SmtpSender
from needlewise.persistence.models import OutboundMessage
from needlewise.security.roles import Role
from needlewise.services import delivery
from needlewise.services.clinic import first_clinic_id
from needlewise.startup import start
from support.browser import DESKTOP, PHONE, check_accessibility, screenshot
from support.outbound import add_message, add_patient
from support.server import Server
from support.service import settings_for
from support.smtp import free_port

LOGIN = {login.role: login for login in LOGINS}
#: what the fixture's database holds, for the page to show
STORED: dict[str, int] = {}


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, valuesets_dir: Path) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("mail")
    url = f"sqlite:///{folder / 'demo.db'}"
    port = free_port()
    runtime = start(settings_for(url, valuesets_dir, smtp_port=port, smtp_host="127.0.0.1"))
    load_demo(runtime)
    clinic_id = first_clinic_id(runtime)
    assert clinic_id is not None
    now = datetime.now(UTC)
    ana, ana_link = add_patient(runtime, clinic_id, email="ana@example.org", language="es")
    ben, ben_link = add_patient(runtime, clinic_id, email="ben@example.org")
    add_message(runtime, clinic_id, ana, ana_link, language="es", params={"thoracic": True})
    add_message(runtime, clinic_id, ben, ben_link, kind="check-in-reminder")
    add_message(runtime, clinic_id, None, kind="clinic-alert", recipient="alerts@demo.example",
                params={"disposition": "emergency", "repeat": 0})  # fmt: skip
    add_message(runtime, clinic_id, ben, ben_link, channel="outbox", due_at=now - timedelta(hours=1),
                params={"thoracic": True})  # fmt: skip
    add_message(runtime, clinic_id, ana, ana_link, channel="outbox", language="es",
                due_at=now - timedelta(minutes=5))  # fmt: skip
    add_message(runtime, clinic_id, ben, ben_link, due_at=now + timedelta(days=1))
    add_message(runtime, clinic_id, ben, ben_link, state="failed", attempts=1,
                last_error="permanent: SMTP 550 recipient refused (attempt 1)")  # fmt: skip
    catcher = start_catcher(folder / "caught", port, lambda path, n: None)
    try:
        counts = delivery.deliver_due(runtime, SmtpSender(runtime.settings), now)
    finally:
        catcher.stop()
    # the three added above, and the demo's own emergency alert to its alert address
    assert counts == {"sent": 4}, counts
    with runtime.db.read() as tx:
        STORED["messages"] = len(tx.scalars(select(OutboundMessage.id)).all())
    runtime.db.dispose()
    server = Server(url, valuesets_dir, NEEDLEWISE_NLP_WARMUP="false",
                    NEEDLEWISE_MAIL_CATCHER_DIR=str(folder / "caught"))  # fmt: skip
    yield server
    server.stop()


def _signed_in(
    chromium: Any, server: Server, role: Role, language: str, size: dict[str, Any]
) -> Any:
    context = chromium.new_context(**size)
    page = context.new_page()
    page.goto(f"{server.base}/app/login?lang={language}")
    login = LOGIN[role]
    page.fill("#email", login.email)
    page.fill("#password", login.password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.base}/app**")
    return context, page


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("device", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_mail_and_outbox_pages(
    chromium: Any, mail_server: Server, language: str, device: str, size: dict[str, Any]
) -> None:
    context, page = _signed_in(chromium, mail_server, Role.admin, language, size)
    page.goto(f"{mail_server.base}/app/admin/mail")
    assert page.locator("html").get_attribute("lang") == language
    page.locator("ul.caught details").first.evaluate("d => d.open = true")
    check_accessibility(page, f"mail ({language}, {device})")
    screenshot(page, f"admin-mail-{language}-{device}")
    # every message the demo scheduled (its sessions' check-ins, its alert) and the ones above
    assert page.locator("table.audit tbody tr").count() == STORED["messages"]
    assert page.locator("ul.caught li").count() == 4  # the three sent above and the demo's alert
    context.close()
    context, page = _signed_in(chromium, mail_server, Role.front_desk, language, size)
    page.goto(f"{mail_server.base}/app/outbox")
    check_accessibility(page, f"outbox ({language}, {device})")
    screenshot(page, f"outbox-{language}-{device}")
    assert page.locator("ul.outbox > li").count() == 2
    context.close()
