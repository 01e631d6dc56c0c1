"""Every form post of every page is refused without its CSRF token (issue 11: "CSRF on
every form post") — found by walking the app's routes, so a new page's form is covered
the day it is added. Staff forms need the session's token (``csrf_token``); forms sent
without a session (sign-in, patient links) need the double-submit ``form_token``. Each
refusal is a 403 page, audited once with the reason ``csrf``."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from needlewise.security.roles import Role
from needlewise.services import links, patients
from needlewise.web.openapi import api_routes
from support.audit import last_id, the_one_entry
from support.pages import sign_in
from support.service import Service


def page_posts(service: Service) -> list[str]:
    """The paths of every POST route of the pages (not in the OpenAPI document)."""
    found = [
        route.path
        for route in api_routes(service.app.router.routes)
        if isinstance(route, APIRoute)
        and not route.include_in_schema
        and "POST" in (route.methods or set())
        and route.path.startswith(("/app", "/p/"))
    ]
    assert len(found) >= 15, found  # the walk found the pages' forms
    return sorted(found)


def test_every_page_form_refuses_a_post_without_its_token(service: Service) -> None:
    client = service.client
    actor = service.actor(Role.front_desk)
    patient = patients.create_patient(
        service.runtime, actor, patients.PatientIn(given_name="Guard", family_name="Synthetic")
    ).id
    tokens = {
        purpose: links.create_link(
            service.runtime, actor, patient, links.LinkIn(purpose=purpose)
        ).token
        for purpose in ("intake", "consent", "check-in")
    }
    checked: list[str] = []
    for template in page_posts(service):
        if template.startswith("/p/{token}"):
            purpose = template.rsplit("/", 1)[-1]
            purpose = "check-in" if purpose == "stop" else purpose  # the check-in link's page
            path = template.replace("{token}", tokens[purpose])
        else:
            path = re.sub(r"\{[a-z_]+\}", str(patient), template)
        if template.startswith("/app") and template != "/app/login":
            sign_in(client, service.users[Role.admin].email)  # a session: token still needed
        before = last_id(service)
        answer = client.post(path, data={"anything": "at all"})
        assert answer.status_code == 403, (template, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), template
        entry = the_one_entry(service, before)
        assert (entry["outcome"], entry["reason"]) == ("denied", "csrf"), (template, entry)
        checked.append(template)
    assert "/app/login" in checked
    assert "/p/{token}/consent" in checked


@pytest.mark.parametrize("field", ["csrf_token", "form_token"])
def test_a_wrong_token_is_refused_like_a_missing_one(service: Service, field: str) -> None:
    client = service.client
    sign_in(client, service.users[Role.clinician].email)
    answer = client.post("/app/logout", data={field: "not-the-token"})
    assert answer.status_code == 403
    assert client.get("/api/auth/me").status_code == 200  # still signed in: nothing done
