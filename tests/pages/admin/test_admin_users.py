"""The staff accounts page: admins only; a weak password is explained next to the field
and makes no account; role and activity changes go through the same use case as the API
(version checked, the last admin kept)."""

from __future__ import annotations

import pytest
from bs4 import Tag

from needlewise.security.roles import Role
from support.audit import entries_after, last_id
from support.pages import sign_in, soup, visible_text
from support.service import Service

ADMIN = "admin@clinic.example"
ADMIN_PAGES = [
    "/app/admin",
    "/app/admin/users",
    "/app/admin/providers",
    "/app/admin/clinic",
    "/app/admin/audit",
]


def emails(service: Service) -> list[str]:
    answer = service.client.get("/api/users", headers=service.headers(Role.admin))
    assert answer.status_code == 200
    return [str(u["email"]) for u in answer.json()["items"]]


def user(service: Service, user_id: int) -> dict[str, object]:
    answer = service.client.get(f"/api/users/{user_id}", headers=service.headers(Role.admin))
    assert answer.status_code == 200
    found: dict[str, object] = answer.json()
    return found


@pytest.mark.parametrize("role", [Role.clinician, Role.front_desk])
def test_other_roles_get_a_403_page_and_the_refusal_is_audited(
    service: Service, role: Role
) -> None:
    client = service.client
    csrf = sign_in(client, service.users[role].email)
    for path in ADMIN_PAGES:
        before = last_id(service)
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "You cannot do this" in visible_text(answer)
        refusals = [e for e in entries_after(service, before) if e["outcome"] == "denied"]
        assert [(e["actor"], e["reason"]) for e in refusals] == [
            (f"user:{service.users[role].id}", "forbidden")
        ], path
    posted = client.post(
        "/app/admin/users",
        data={"csrf_token": csrf, "email": "x@clinic.example", "name": "X", "role": "admin",
              "password": "a long passphrase of seven unusual words"},
    )  # fmt: skip
    assert posted.status_code == 403
    assert "x@clinic.example" not in emails(service)


def test_the_admin_menu_shows_for_admins_only(service: Service) -> None:
    client = service.client
    sign_in(client, ADMIN)
    home = client.get("/app/admin")
    assert home.status_code == 200
    assert soup(home).find("a", href="/app/admin", attrs={"aria-current": "page"})
    for path in ADMIN_PAGES[1:]:
        assert soup(home).find("a", href=path) is not None


def test_a_weak_password_is_explained_and_no_account_is_made(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    answer = client.post(
        "/app/admin/users",
        data={
            "csrf_token": csrf,
            "email": "newbie@clinic.example",
            "name": "New Person",
            "role": "clinician",
            "password": "password1234",
        },
    )
    assert answer.status_code == 422
    page = soup(answer)
    error = page.find(id="password-error")
    assert error is not None
    assert "too easy to guess" in error.get_text()
    field = page.find("input", id="password")
    assert isinstance(field, Tag)
    assert "password-error" in str(field.get("aria-describedby"))
    assert field.get("value") == ""  # a password is never sent back
    email = page.find("input", id="email")
    assert isinstance(email, Tag)
    assert email.get("value") == "newbie@clinic.example"
    assert "newbie@clinic.example" not in emails(service)


def test_a_short_password_and_a_taken_email_are_explained(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    short = client.post(
        "/app/admin/users",
        data={"csrf_token": csrf, "email": "s@clinic.example", "name": "S", "role": "admin",
              "password": "short"},
    )  # fmt: skip
    assert short.status_code == 422
    assert soup(short).find(id="password-error") is not None
    taken = client.post(
        "/app/admin/users",
        data={"csrf_token": csrf, "email": "clinician@clinic.example", "name": "C",
              "role": "admin", "password": "granite lantern copper meadow"},
    )  # fmt: skip
    assert taken.status_code == 409
    error = soup(taken).find(id="email-error")
    assert error is not None
    assert "already exists" in error.get_text()


def test_an_account_is_made_then_its_role_changed_then_switched_off(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    made = client.post(
        "/app/admin/users",
        data={"csrf_token": csrf, "email": "Nova@Clinic.example", "name": "Nova Person",
              "role": "front-desk", "password": "granite lantern copper meadow"},
    )  # fmt: skip
    assert made.status_code == 303, visible_text(made)[:400]
    user_id = int(made.headers["location"].rsplit("=", 1)[1])
    assert "nova@clinic.example" in emails(service)
    listed = client.get(made.headers["location"])
    assert "Nova Person" in visible_text(listed)
    version = user(service, user_id)["version"]
    changed = client.post(
        f"/app/admin/users/{user_id}",
        data={"csrf_token": csrf, "version": str(version), "role": "clinician"},
    )
    assert changed.status_code == 303
    assert user(service, user_id)["role"] == "clinician"
    stale = client.post(
        f"/app/admin/users/{user_id}",
        data={"csrf_token": csrf, "version": str(version), "active": "false"},
    )
    assert stale.status_code == 412
    assert "Someone changed this account" in visible_text(stale)
    assert user(service, user_id)["active"] is True
    off = client.post(
        f"/app/admin/users/{user_id}",
        data={"csrf_token": csrf, "version": str(user(service, user_id)["version"]),
              "active": "false"},
    )  # fmt: skip
    assert off.status_code == 303
    assert user(service, user_id)["active"] is False


def test_the_last_admin_cannot_switch_themself_off(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    me = service.users[Role.admin]
    answer = client.post(
        f"/app/admin/users/{me.id}",
        data={"csrf_token": csrf, "version": str(me.version), "active": "false"},
    )
    assert answer.status_code == 409
    assert "last active admin" in visible_text(answer)
    assert user(service, me.id)["active"] is True


def test_a_role_that_does_not_exist_changes_nothing(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    target = service.users[Role.front_desk]
    answer = client.post(
        f"/app/admin/users/{target.id}",
        data={"csrf_token": csrf, "version": str(target.version), "role": "superuser"},
    )
    assert answer.status_code == 422
    assert "Please choose one of the options." in visible_text(answer)
    assert user(service, target.id)["role"] == "front-desk"
