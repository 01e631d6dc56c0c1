"""Accounts and access on both databases: logins, rate limiting, sessions that end,
API tokens, CSRF, and users managed by admins only."""

from __future__ import annotations

from sqlalchemy import select

from needlewise.persistence.models import AuditEntry, User
from needlewise.security.roles import Role
from support.service import PASSWORD, Service

FRONT = "front-desk@clinic.example"


def login(service: Service, email: str = FRONT, password: str = PASSWORD) -> int:
    return service.client.post(
        "/api/auth/login", json={"email": email, "password": password}
    ).status_code


def test_wrong_password_and_unknown_email_get_the_same_answer(service: Service) -> None:
    wrong = service.client.post(
        "/api/auth/login", json={"email": FRONT, "password": "nope nope nope"}
    )
    unknown = service.client.post(
        "/api/auth/login", json={"email": "nobody@clinic.example", "password": "x"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_failed_logins_are_rate_limited_even_with_the_right_password(service: Service) -> None:
    limit = service.runtime.settings.login_attempts
    assert [login(service, password="wrong password!") for _ in range(limit)] == [401] * limit
    blocked = service.client.post("/api/auth/login", json={"email": FRONT, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) == service.runtime.settings.login_window_minutes * 60
    # another account is not blocked by these failures
    assert login(service, email="clinician@clinic.example") == 200


def test_logins_are_audited_without_the_email(service: Service) -> None:
    assert login(service, password="wrong password!") == 401
    assert login(service) == 200
    with service.runtime.db.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "login")).all()
    assert [r.outcome for r in rows] == ["denied", "ok"]
    assert all("@" not in (r.actor + (r.resource_id or "")) for r in rows)


def test_logout_ends_the_session_at_once(service: Service) -> None:
    response = service.client.post("/api/auth/login", json={"email": FRONT, "password": PASSWORD})
    csrf = response.json()["csrf_token"]
    assert service.client.get("/api/auth/me").status_code == 200
    assert (
        service.client.post("/api/auth/logout", headers={"x-csrf-token": csrf}).status_code == 200
    )
    cookie = response.cookies.get("nw_session")
    assert cookie
    service.client.cookies.set("nw_session", cookie)  # a copied cookie must not work either
    assert service.client.get("/api/auth/me").status_code == 401


def test_deactivating_a_user_ends_their_api_tokens(service: Service) -> None:
    clinician = service.headers(Role.clinician)
    assert service.client.get("/api/patients", headers=clinician).status_code == 200
    user = service.users[Role.clinician]
    admin = service.headers(Role.admin)
    etag = service.client.get(f"/api/users/{user.id}", headers=admin).headers["etag"]
    patched = service.client.patch(
        f"/api/users/{user.id}", json={"active": False}, headers={**admin, "if-match": etag}
    )
    assert patched.status_code == 200, patched.text
    assert service.client.get("/api/patients", headers=clinician).status_code == 401


def test_api_token_works_without_csrf_and_only_as_its_user(service: Service) -> None:
    response = service.client.post("/api/auth/login", json={"email": FRONT, "password": PASSWORD})
    csrf = response.json()["csrf_token"]
    minted = service.client.post(
        "/api/auth/tokens", json={"days": 2}, headers={"x-csrf-token": csrf}
    )
    assert minted.status_code == 200, minted.text
    token = minted.json()["token"]
    service.client.cookies.clear()
    bearer = {"authorization": f"Bearer {token}"}
    assert (
        service.client.post(
            "/api/patients", json={"given_name": "A", "family_name": "B"}, headers=bearer
        ).status_code
        == 201
    )
    assert (
        service.client.get("/api/users", headers=bearer).status_code == 403
    )  # front desk is not admin
    with service.runtime.db.read() as session:
        stored = {u.password_hash for u in session.scalars(select(User))}
    assert token not in str(stored)


def test_only_admins_manage_users_and_passwords_are_checked(service: Service) -> None:
    body = {
        "email": "new@clinic.example",
        "name": "New",
        "role": "clinician",
        "password": "long enough password",
    }
    assert (
        service.client.post(
            "/api/users", json=body, headers=service.headers(Role.clinician)
        ).status_code
        == 403
    )
    short = service.client.post(
        "/api/users", json={**body, "password": "short"}, headers=service.headers(Role.admin)
    )
    assert short.status_code == 422
    assert short.json()["error"]["location"] == "$.password"
    assert (
        service.client.post(
            "/api/users", json=body, headers=service.headers(Role.admin)
        ).status_code
        == 201
    )
    again = service.client.post("/api/users", json=body, headers=service.headers(Role.admin))
    assert again.status_code == 409
    assert login(service, email="new@clinic.example", password="long enough password") == 200
