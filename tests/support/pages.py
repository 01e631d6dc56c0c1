"""Tests of the HTML pages without a browser: the in-process client, and the page read as
a browser would (BeautifulSoup).

* ``soup(response)`` — the page, parsed;
* ``form_token(client, url)`` — open ``url`` and return the ``form_token`` of its form
  (the double-submit token of forms sent without a session; the cookie is kept);
* ``sign_in(client, email)`` — sign in through the login form; returns the session's
  CSRF token, which staff forms send as ``csrf_token``;
* ``visible_text(response)`` — the words a reader sees (no tags, spaces collapsed).
"""

from __future__ import annotations

import httpx
from bs4 import BeautifulSoup

from support.http import ApiClient
from support.service import PASSWORD


def soup(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def visible_text(response: httpx.Response) -> str:
    page = soup(response)
    for tag in page(["script", "style", "head"]):
        tag.decompose()
    return " ".join(page.get_text(" ").split())


def hidden_value(response: httpx.Response, name: str) -> str:
    field = soup(response).find("input", attrs={"name": name})
    assert field is not None, f"no {name} field on the page"
    return str(field.get("value", ""))


def form_token(client: ApiClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return hidden_value(page, "form_token")


def sign_in(client: ApiClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through ``/app/login``; returns the CSRF token of the session."""
    token = form_token(client, "/app/login")
    answer = client.post(
        "/app/login",
        data={"form_token": token, "email": email, "password": password, "next": "/app"},
    )
    assert answer.status_code == 303, (answer.status_code, visible_text(answer)[:300])
    me = client.get("/api/auth/me")  # the pages show the same token in their forms
    assert me.status_code == 200, me.text
    return str(me.json()["csrf_token"])
