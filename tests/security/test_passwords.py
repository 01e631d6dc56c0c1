"""Attack: weak, common and blank passwords, and no way to change one's own (issue 9,
finding 8), on SQLite and on PostgreSQL.

The attack as found: any 12 characters were a password, so ``password1234`` or twelve
spaces were accepted for a clinic's admin, and nobody could change their own password
(only an admin could set it). Passwords are now judged offline by zxcvbn when an
account is created (API and ``needlewise user create-admin``), when an admin sets one,
and when a user changes their own; the refusal names the field and carries zxcvbn's
advice.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from needlewise.cli import main
from needlewise.config import Settings
from needlewise.demo import LOGINS
from needlewise.persistence.models import AuditEntry, User
from needlewise.security.password_policy import weakness
from needlewise.security.roles import Role
from support.http import ApiClient
from support.service import PASSWORD, Service

WEAK = {
    "common": "password1234",
    "keyboard": "qwertyuiop123",
    "repeated": "abcabcabcabcabc",
    "spaces": " " * 16,
    "tabs-and-spaces": " \t \t \t \t \t \t \t ",
    "the-email": "mariagarcia2024",
    "the-name": "Maria Garcia 1",
    "the-service": "needlewise2024!",
}
STRONG = "granite otter lantern quietly"


def user_body(password: str) -> dict[str, str]:
    return {
        "email": f"mariagarcia-{uuid.uuid4().hex[:6]}@clinic.example",
        "name": "Maria Garcia",
        "role": "clinician",
        "password": password,
    }


def users(service: Service) -> int:
    with service.runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


@pytest.mark.parametrize("password", WEAK.values(), ids=WEAK.keys())
def test_a_weak_password_is_refused_at_account_creation(service: Service, password: str) -> None:
    before = users(service)
    response = service.client.post(
        "/api/users", json=user_body(password), headers=service.headers(Role.admin)
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["location"] == "$.password"
    assert "password" in error["message"]
    assert password.strip() == "" or password not in response.text  # never echoed
    assert users(service) == before


def test_the_refusal_carries_the_checkers_advice(service: Service) -> None:
    response = service.client.post(
        "/api/users", json=user_body("password1234"), headers=service.headers(Role.admin)
    )
    message = response.json()["error"]["message"]
    assert "too easy to guess" in message
    assert "common password" in message  # zxcvbn's own warning, passed on


def test_a_strong_password_is_accepted(service: Service) -> None:
    response = service.client.post(
        "/api/users", json=user_body(STRONG), headers=service.headers(Role.admin)
    )
    assert response.status_code == 201, response.text


def test_an_admin_cannot_set_a_weak_password(service: Service) -> None:
    user = service.users[Role.front_desk]
    admin = service.headers(Role.admin)
    etag = service.client.get(f"/api/users/{user.id}", headers=admin).headers["etag"]
    response = service.client.patch(
        f"/api/users/{user.id}",
        json={"password": "password1234", "role": "clinician"},
        headers={**admin, "if-match": etag},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == "$.password"
    after = service.client.get(f"/api/users/{user.id}", headers=admin).json()
    assert (after["role"], after["version"]) == ("front-desk", user.version)  # nothing changed
    login = service.client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 200


def test_create_admin_on_the_command_line_refuses_a_weak_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    args = ["user", "create-admin", "--email", "boss@clinic.example"]
    args += ["--name", "Boss Synthetic", "--clinic", "Synthetic Clinic"]
    runner = CliRunner()
    settings = Settings(database_url=url)
    weak = runner.invoke(main, [*args, "--password", "password1234"], obj=settings)
    assert weak.exit_code == 2, weak.output
    assert "--password" in weak.output
    assert "too easy to guess" in weak.output
    blank = runner.invoke(main, [*args, "--password", " " * 14], obj=settings)
    assert blank.exit_code == 2, blank.output
    strong = runner.invoke(main, [*args, "--password", STRONG], obj=settings)
    assert strong.exit_code == 0, strong.output
    assert "Created admin boss@clinic.example" in strong.output


def test_the_demo_passwords_pass_the_checker() -> None:
    for login in LOGINS:
        assert weakness(login.password, [login.email, login.name]) is None, login.email


def test_the_seeded_test_password_passes_the_checker() -> None:
    assert weakness(PASSWORD, ["front-desk@clinic.example", "Test front-desk"]) is None


# ------------------------------------------------------------------ changing one's own


def _browser(service: Service, email: str, password: str = PASSWORD) -> tuple[ApiClient, str]:
    client = ApiClient(service.app)
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return client, response.json()["csrf_token"]


def test_a_user_changes_their_own_password(service: Service) -> None:
    email = "front-desk@clinic.example"
    here, csrf = _browser(service, email)
    elsewhere, _ = _browser(service, email)
    try:
        changed = here.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": STRONG},
            headers={"x-csrf-token": csrf},
        )
        assert changed.status_code == 200, changed.text
        # this session goes on; the other session and the seeded API token are over
        assert here.get("/api/auth/me").status_code == 200
        assert elsewhere.get("/api/auth/me").status_code == 401
        token = service.headers(Role.front_desk)
        assert service.client.get("/api/auth/me", headers=token).status_code == 401
        old = here.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert old.status_code == 401
        new = here.post("/api/auth/login", json={"email": email, "password": STRONG})
        assert new.status_code == 200
    finally:
        here.close()
        elsewhere.close()


def test_a_password_change_by_api_token_keeps_that_token(service: Service) -> None:
    token = service.headers(Role.clinician)
    other, _ = _browser(service, "clinician@clinic.example")
    try:
        changed = service.client.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": STRONG},
            headers=token,
        )
        assert changed.status_code == 200, changed.text
        assert service.client.get("/api/auth/me", headers=token).status_code == 200
        assert other.get("/api/auth/me").status_code == 401
    finally:
        other.close()


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"current_password": "not my password!", "new_password": STRONG}, "$.current_password"),
        ({"current_password": PASSWORD, "new_password": "password1234"}, "$.new_password"),
        ({"current_password": PASSWORD, "new_password": " " * 20}, "$.new_password"),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, "$.new_password"),
        ({"current_password": PASSWORD, "new_password": STRONG, "role": "admin"}, "$.role"),
        ({"new_password": STRONG}, "$.current_password"),
    ],
    ids=["wrong-current", "weak", "blank", "unchanged", "unknown-field", "no-current"],
)
def test_a_refused_password_change_changes_nothing(
    service: Service, body: dict[str, str], location: str
) -> None:
    token = service.headers(Role.front_desk)
    response = service.client.post("/api/auth/password", json=body, headers=token)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == location
    assert service.client.get("/api/auth/me", headers=token).status_code == 200
    login = service.client.post(
        "/api/auth/login", json={"email": "front-desk@clinic.example", "password": PASSWORD}
    )
    assert login.status_code == 200


def test_guessing_the_current_password_through_a_change_is_limited(service: Service) -> None:
    """A stolen session cannot try passwords without limit on the change endpoint."""
    token = service.headers(Role.front_desk)
    limit = service.runtime.settings.login_attempts
    statuses = [
        service.client.post(
            "/api/auth/password",
            json={"current_password": f"guess number {i}!", "new_password": STRONG},
            headers=token,
        ).status_code
        for i in range(limit + 1)
    ]
    assert statuses == [422] * limit + [429]
    right = service.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": STRONG},
        headers=token,
    )
    assert right.status_code == 429  # even the right one, until the window has passed
    # each refusal is audited once: the service's own entry, not a second one by the door
    with service.runtime.db.read() as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.outcome).where(
                AuditEntry.action == "change-password",
                AuditEntry.actor == f"user:{service.users[Role.front_desk].id}",
            )
        ).all()
    assert sorted(entries) == [("change-password", "denied")] * (limit + 2)
