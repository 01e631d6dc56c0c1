"""Attack: credentials that outlive a change of password, activity or role (issue 9,
finding 1), on SQLite and on PostgreSQL.

The attack as found: an admin edit that changes the password (or deactivates the user)
*and* the role in one request left every browser session and API token of the user
working, and deactivating then reactivating a user brought their old sessions back.
Logging out of a browser session left the API tokens minted from it working, with no
way to see or end them, for up to a year.

Each test holds a browser session (a cookie login) and an API token of the victim and
checks them on ``/api/auth/me``, which any working credential may read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from needlewise.config import Settings
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AuditEntry, AuthSession
from needlewise.security.roles import Role
from needlewise.services.api_tokens import mint_api_token
from needlewise.services.credentials import forget_sessions
from support.http import ApiClient
from support.service import PASSWORD, Service, seed_clinic

NEW_PASSWORD = "granite otter lantern quietly"


@dataclass
class Held:
    """The victim's credentials: a cookie session (its own client) and an API token."""

    user_id: int
    email: str
    browser: ApiClient
    csrf: str
    token: str

    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def hold(service: Service, role: Role = Role.clinician) -> Held:
    """A new user of ``role`` logged in by cookie, with an API token minted from that
    browser session."""
    admin = service.headers(Role.admin)
    email = f"victim-{uuid.uuid4().hex[:10]}@clinic.example"
    created = service.client.post(
        "/api/users",
        json={"email": email, "name": "Victim Synthetic", "role": role.value, "password": PASSWORD},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    browser = ApiClient(service.app)
    login = browser.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    minted = browser.post("/api/auth/tokens", json={"days": 2}, headers={"x-csrf-token": csrf})
    assert minted.status_code == 200, minted.text
    return Held(created.json()["id"], email, browser, csrf, minted.json()["token"])


def working(service: Service, held: Held) -> tuple[bool, bool]:
    """(browser session works, API token works)."""
    by_cookie = held.browser.get("/api/auth/me").status_code
    by_token = service.client.get("/api/auth/me", headers=held.bearer()).status_code
    assert {by_cookie, by_token} <= {200, 401}, (by_cookie, by_token)
    return by_cookie == 200, by_token == 200


def edit(service: Service, user_id: int, body: dict[str, Any], status: int = 200) -> None:
    admin = service.headers(Role.admin)
    etag = service.client.get(f"/api/users/{user_id}", headers=admin).headers["etag"]
    response = service.client.patch(
        f"/api/users/{user_id}", json=body, headers={**admin, "if-match": etag}
    )
    assert response.status_code == status, response.text


EDITS: dict[str, dict[str, Any]] = {
    "password": {"password": NEW_PASSWORD},
    "role": {"role": "front-desk"},
    "password+role": {"password": NEW_PASSWORD, "role": "front-desk"},
    "deactivate": {"active": False},
    "deactivate+role": {"active": False, "role": "front-desk"},
    "deactivate+password+role+name": {
        "active": False,
        "password": NEW_PASSWORD,
        "role": "admin",
        "name": "Renamed Synthetic",
    },
}


@pytest.mark.parametrize("body", EDITS.values(), ids=EDITS.keys())
def test_any_credential_change_ends_every_session_and_token(
    service: Service, body: dict[str, Any]
) -> None:
    held = hold(service)
    try:
        assert working(service, held) == (True, True)
        edit(service, held.user_id, body)
        assert working(service, held) == (False, False)
        if body.get("active") is False:
            edit(service, held.user_id, {"active": True})
            assert working(service, held) == (False, False), "reactivation revived them"
    finally:
        held.browser.close()


def test_an_edit_that_changes_nothing_that_matters_keeps_credentials(service: Service) -> None:
    held = hold(service)
    try:
        edit(service, held.user_id, {"name": "Only The Name", "role": "clinician", "active": True})
        assert working(service, held) == (True, True)
    finally:
        held.browser.close()


def test_a_credential_change_ends_sessions_stored_as_revoked(service: Service) -> None:
    """The rows are revoked (not only forgotten by this process's cache), so every
    process refuses them once its own cache runs out."""
    held = hold(service)
    try:
        edit(service, held.user_id, {"password": NEW_PASSWORD, "role": "front-desk"})
        with service.runtime.db.read() as session:
            rows = session.scalars(
                select(AuthSession).where(AuthSession.user_id == held.user_id)
            ).all()
        assert len(rows) == 2
        assert all(row.revoked_at is not None for row in rows)
    finally:
        held.browser.close()


# ------------------------------------------------------------------ API tokens


def test_a_user_lists_and_revokes_their_own_tokens(service: Service) -> None:
    held = hold(service)
    try:
        listed = held.browser.get("/api/auth/tokens")
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert len(items) == 1
        assert held.token not in listed.text  # a token is shown only once, at minting
        token_id = items[0]["id"]
        assert items[0]["user_id"] == held.user_id

        # logging out of the browser session leaves the token: it is revoked on its own
        out = held.browser.post("/api/auth/logout", headers={"x-csrf-token": held.csrf})
        assert out.status_code == 200
        assert working(service, held) == (False, True)

        gone = service.client.delete(f"/api/auth/tokens/{token_id}", headers=held.bearer())
        assert gone.status_code == 200, gone.text
        assert working(service, held) == (False, False)
        again = service.client.get("/api/auth/tokens", headers=service.headers(Role.admin))
        assert token_id not in [t["id"] for t in again.json()["items"]]
    finally:
        held.browser.close()


def test_an_admin_lists_and_revokes_a_users_tokens(service: Service) -> None:
    held = hold(service)
    admin = service.headers(Role.admin)
    try:
        listed = service.client.get(
            "/api/auth/tokens", params={"user_id": held.user_id}, headers=admin
        )
        assert listed.status_code == 200, listed.text
        (item,) = listed.json()["items"]
        revoked = service.client.delete(f"/api/auth/tokens/{item['id']}", headers=admin)
        assert revoked.status_code == 200, revoked.text
        assert working(service, held) == (True, False)  # the browser session is not a token
        with service.runtime.db.read() as session:
            actions = session.scalars(
                select(AuditEntry.action).where(AuditEntry.resource_type == "api-token")
            ).all()
        assert "revoke" in actions
    finally:
        held.browser.close()


def test_no_one_else_sees_or_revokes_a_users_tokens(service: Service) -> None:
    held = hold(service)
    try:
        token_id = held.browser.get("/api/auth/tokens").json()["items"][0]["id"]
        front = service.headers(Role.front_desk)
        # another staff member: may not list someone else's, and their token is "not found"
        assert (
            service.client.get(
                "/api/auth/tokens", params={"user_id": held.user_id}, headers=front
            ).status_code
            == 403
        )
        refused = service.client.delete(f"/api/auth/tokens/{token_id}", headers=front)
        assert refused.status_code == 404, refused.text
        # an admin of another clinic in the same database: not found either
        other = seed_clinic(service.runtime, "Other Synthetic Clinic", domain="other.example")
        theirs = other.headers(Role.admin)
        listed = service.client.get(
            "/api/auth/tokens", params={"user_id": held.user_id}, headers=theirs
        )
        assert listed.status_code == 404, listed.text
        refused = service.client.delete(f"/api/auth/tokens/{token_id}", headers=theirs)
        assert refused.status_code == 404, refused.text
        assert working(service, held) == (True, True)
    finally:
        held.browser.close()


def test_token_creation_refuses_unknown_fields(service: Service) -> None:
    response = service.client.post(
        "/api/auth/tokens",
        json={"days": 2, "role": "admin"},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == "$.role"


def test_token_lifetime_is_capped_by_the_setting(service: Service) -> None:
    cap = service.runtime.settings.api_token_days
    assert cap <= 90  # the default is far below a year
    headers = service.headers(Role.front_desk)
    too_long = service.client.post("/api/auth/tokens", json={"days": cap + 1}, headers=headers)
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["error"]["location"] == "$.days"
    year = service.client.post("/api/auth/tokens", json={"days": 365}, headers=headers)
    assert year.status_code == 422, year.text
    default = service.client.post("/api/auth/tokens", json={}, headers=headers)
    assert default.status_code == 200, default.text


def test_a_token_older_than_the_cap_stops_working(service: Service) -> None:
    """Tokens minted before the cap was lowered (or before it existed) end too."""
    token, _ = mint_api_token(service.runtime, service.actor(Role.front_desk), days=2)
    bearer = {"authorization": f"Bearer {token}"}
    assert service.client.get("/api/auth/me", headers=bearer).status_code == 200
    forget_sessions(service.runtime)
    cap = service.runtime.settings.api_token_days
    # planted: an old token (minted under a longer cap) is a row no service mints today
    with service.runtime.db.write() as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.kind == "api")
            .values(
                created_at=utcnow() - timedelta(days=cap + 1),
                expires_at=utcnow() + timedelta(days=300),
            )
        )
    forget_sessions(service.runtime)
    assert service.client.get("/api/auth/me", headers=bearer).status_code == 401


def test_the_cap_default_is_far_below_a_year() -> None:
    assert Settings.model_fields["api_token_days"].default <= 90
