"""Staff sign in and out through the pages: the same session cookie and CSRF token as the
JSON API, refusals that name the problem, and nowhere to go but our own pages."""

from __future__ import annotations

import pytest

from needlewise.security.roles import Role
from support.audit import last_id, the_one_entry
from support.pages import form_token, hidden_value, sign_in, visible_text
from support.service import Service


def test_sign_in_then_the_session_works_for_the_api_too(service: Service) -> None:
    client = service.client
    email = service.users[Role.clinician].email
    csrf = sign_in(client, email)
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["email"] == email
    assert me.json()["csrf_token"] == csrf


def test_a_wrong_password_shows_the_form_again_with_the_reason(service: Service) -> None:
    client = service.client
    token = form_token(client, "/app/login")
    answer = client.post(
        "/app/login",
        data={"form_token": token, "email": "clinician@clinic.example", "password": "nope"},
    )
    assert answer.status_code == 401
    assert "The email or password is not right." in visible_text(answer)
    assert hidden_value(answer, "email") == "clinician@clinic.example"
    assert "nw_session" not in answer.headers.get("set-cookie", "")


def test_the_reason_is_in_spanish_for_a_spanish_reader(service: Service) -> None:
    client = service.client
    token = form_token(client, "/app/login?lang=es")
    answer = client.post(
        "/app/login",
        data={"form_token": token, "email": "clinician@clinic.example", "password": "nope"},
    )
    assert answer.status_code == 401
    assert "El correo o la contraseña no son correctos." in visible_text(answer)


def test_a_login_post_without_the_form_token_is_refused_and_audited(service: Service) -> None:
    client = service.client
    client.get("/app/login")
    before = last_id(service)
    answer = client.post(
        "/app/login", data={"email": "clinician@clinic.example", "password": "x" * 10}
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    entry = the_one_entry(service, before)
    assert (entry["actor"], entry["outcome"], entry["reason"]) == ("anonymous", "denied", "csrf")


@pytest.mark.parametrize(
    ("sent", "lands"),
    [
        ("/app/patients/3", "/app/patients/3"),
        ("https://evil.example/", "/app"),
        ("//evil.example/app", "/app"),
        ("/app//evil.example", "/app"),
        ("/api/audit", "/app"),
    ],
)
def test_after_sign_in_only_our_own_pages(service: Service, sent: str, lands: str) -> None:
    client = service.client
    token = form_token(client, "/app/login")
    answer = client.post(
        "/app/login",
        data={
            "form_token": token,
            "email": "clinician@clinic.example",
            "password": "correct horse battery staple",
            "next": sent,
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == lands


def test_a_staff_page_without_a_session_goes_to_the_login_and_back(service: Service) -> None:
    answer = service.client.get("/app/emergency-plan")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login?next=%2Fapp%2Femergency-plan"


def test_sign_out_needs_the_csrf_token_then_ends_the_session(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, "clinician@clinic.example")
    refused = client.post("/app/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    assert client.get("/api/auth/me").status_code == 200
    answer = client.post("/app/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login?signed-out"
    assert client.get("/api/auth/me").status_code == 401
