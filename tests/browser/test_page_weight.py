"""No page transfers more than 100 KB (issue 11), everything it loads included — its
HTML, style sheets, scripts and images, as sent on the wire, with an empty cache. PDFs
are not pages. The weights are written to ``var/screenshots/page-weights.json``. The heaviest pages of each kind are weighed: the article, each patient
form, the clinician's today list, chart and session note, and the audit log."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from needlewise.demo import LOGINS
from needlewise.security.roles import Role
from support.browser import MAX_PAGE_BYTES, SCREENSHOTS, patient_links, transferred
from support.server import Server

ADMIN = next(login for login in LOGINS if login.role is Role.admin)
CLINICIAN = next(login for login in LOGINS if login.role is Role.clinician)


def session_cookie(server: Server, email: str, password: str) -> list[dict[str, Any]]:
    """The session cookie of a staff login through the API (the pages use the same)."""
    answer = httpx.post(
        f"{server.base}/api/auth/login", json={"email": email, "password": password}
    )
    assert answer.status_code == 200, answer.text
    host = urlparse(server.base).hostname
    return [
        {"name": name, "value": value, "domain": host, "path": "/"}
        for name, value in answer.cookies.items()
        if name == "nw_session"
    ]


@pytest.fixture(scope="module")
def weights(chromium: Any, demo_server: Server) -> dict[str, int]:
    base = demo_server.base
    links = patient_links(demo_server, "es", "Weigh")
    admin = session_cookie(demo_server, ADMIN.email, ADMIN.password)
    clinician = session_cookie(demo_server, CLINICIAN.email, CLINICIAN.password)
    patient_pages = {
        "home": "/?lang=es",
        "article": "/learn/dry-needling?lang=es",
        "aftercare sheet": "/learn/aftercare?lang=es",
        "intake": f"/p/{links['intake']}/intake",
        "consent": f"/p/{links['consent']}/consent",
        "check-in": f"/p/{links['check-in']}/check-in",
    }
    staff_pages = {
        "today": ("/app", clinician),
        "chart": ("/app/patients/4", clinician),
        "session note": ("/app/patients/5/sessions/new", clinician),
        "audit log": ("/app/admin/audit", admin),
    }
    found = {name: transferred(chromium, base + path) for name, path in patient_pages.items()}
    for name, (path, cookies) in staff_pages.items():
        found[name] = transferred(chromium, base + path, cookies)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # kept beside the screenshots to read
    (SCREENSHOTS / "page-weights.json").write_text(json.dumps(found, indent=2) + "\n")
    return found


def test_no_page_transfers_more_than_100_kb(weights: dict[str, int]) -> None:
    heavy = {name: size for name, size in weights.items() if size > MAX_PAGE_BYTES}
    assert not heavy, f"over {MAX_PAGE_BYTES} bytes: {heavy}"


def test_the_weighing_counts_what_was_loaded(weights: dict[str, int]) -> None:
    """A page with its style sheet and scripts weighs more than a few KB (a weighing that
    counted nothing would pass the limit vacuously)."""
    assert min(weights.values()) > 5_000, weights
