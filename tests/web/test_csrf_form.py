"""A cookie session's CSRF token is accepted from the X-CSRF-Token header (scripts) or,
from an HTML form, from its ``csrf_token`` field (pages: web/auth.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse

from needlewise.security.roles import Role
from needlewise.web.api.deps import AnyStaff
from support.http import ApiClient
from support.service import PASSWORD, Service


@pytest.fixture
def browser(service: Service) -> Iterator[tuple[ApiClient, str]]:
    """A client logged in by cookie as the front desk, and its CSRF token."""

    async def page_form(request: Request, actor: AnyStaff) -> JSONResponse:
        """A page's form handler: it reads its own fields after the CSRF check."""
        fields = parse_qs((await request.body()).decode())
        return JSONResponse({"note": fields["note"][0], "user": actor.ref})

    service.app.add_api_route("/pages/note", page_form, methods=["POST"])
    client = ApiClient(service.app)
    login = client.post(
        "/api/auth/login",
        json={"email": f"{Role.front_desk.value}@clinic.example", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    yield client, login.json()["csrf_token"]
    client.close()


def post_form(client: ApiClient, url: str, fields: dict[str, str], **kwargs: Any) -> Any:
    return client.post(url, data=fields, **kwargs)


def test_a_form_with_the_csrf_field_is_accepted(
    service: Service, browser: tuple[ApiClient, str]
) -> None:
    client, csrf = browser
    response = post_form(client, "/pages/note", {"csrf_token": csrf, "note": "call back"})
    assert response.status_code == 200, response.text
    user = service.users[Role.front_desk]
    assert response.json() == {"note": "call back", "user": f"user:{user.id}"}
    # a form logout (no body of its own) ends the session
    assert post_form(client, "/api/auth/logout", {"csrf_token": csrf}).status_code == 200
    assert client.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize(
    "fields",
    [{"note": "x"}, {"csrf_token": "", "note": "x"}, {"csrf_token": "0" * 43, "note": "x"}],
    ids=["no field", "empty", "wrong"],
)
def test_a_form_without_the_right_csrf_field_is_refused(
    browser: tuple[ApiClient, str], fields: dict[str, str]
) -> None:
    client, _csrf = browser
    response = post_form(client, "/pages/note", fields)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    assert client.get("/api/auth/me").status_code == 200  # still logged in


def test_the_header_wins_over_the_form_field(browser: tuple[ApiClient, str]) -> None:
    client, csrf = browser
    wrong_header = {"x-csrf-token": "0" * len(csrf)}
    response = post_form(
        client, "/pages/note", {"csrf_token": csrf, "note": "x"}, headers=wrong_header
    )
    assert response.status_code == 403
    right_header = {"x-csrf-token": csrf}
    response = post_form(client, "/pages/note", {"note": "x"}, headers=right_header)
    assert response.status_code == 200, response.text


def test_the_field_is_read_from_forms_only_and_within_the_body_limit(
    service: Service, browser: tuple[ApiClient, str]
) -> None:
    client, csrf = browser
    # the token in a JSON body is not a form field: refused as before
    as_json = client.post("/pages/note", json={"csrf_token": csrf, "note": "x"})
    assert as_json.status_code == 403
    # a JSON API route given a form passes the CSRF check, then wants JSON
    api = post_form(client, "/api/patients", {"csrf_token": csrf, "given_name": "A"})
    assert (api.status_code, api.json()["error"]["code"]) == (415, "unsupported-media-type")
    limit = service.runtime.settings.max_body_bytes
    huge = post_form(client, "/pages/note", {"csrf_token": csrf, "note": "x" * limit})
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "too-large")
