"""Property (issue 9, finding 1): no sequence of admin edits leaves a credential of a
changed user working, on SQLite and on PostgreSQL.

Hypothesis draws a sequence of steps on a fresh staff account: admin edits (any mix of
name, role, activity and password in one request, including values equal to the current
ones), logins (a browser session) and minted API tokens. A model says which credentials
must work: one is dead for good from the first edit that changed the user's password,
activity or role after it was made, and none works while the user is inactive. After
every step each credential is tried on the API (through this process's cache, which must
never answer for a dead one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needlewise.security.roles import Role
from support.service import PASSWORD, Service, make_service, settings_for

PASSWORDS = (PASSWORD, "granite otter lantern quietly", "violet harbor pencil drifting")
NAMES = ("Prop Synthetic", "Renamed Synthetic")
ROLES = ("clinician", "front-desk", "admin")


@pytest.fixture(scope="module")
def prop_service(module_database_url: str, valuesets_dir: Path) -> Iterator[Service]:
    with make_service(settings_for(module_database_url, valuesets_dir)) as service:
        yield service


edits = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(NAMES),
        "role": st.sampled_from(ROLES),
        "active": st.booleans(),
        "password": st.sampled_from(PASSWORDS),
    },
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), edits),
        st.tuples(st.just("login"), st.none()),
        st.tuples(st.just("token"), st.none()),
    ),
    min_size=1,
    max_size=7,
)


@dataclass
class Model:
    role: str = "clinician"
    active: bool = True
    password: str = PASSWORD
    #: credential token -> still allowed to work (False once a change ended it)
    credentials: dict[str, bool] = field(default_factory=dict)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sequence=steps)
def run_sequence(service: Service, sequence: list[tuple[str, Any]]) -> None:
    client = service.client
    admin = service.headers(Role.admin)
    email = f"prop-{uuid.uuid4().hex[:10]}@clinic.example"
    created = client.post(
        "/api/users",
        json={"email": email, "name": NAMES[0], "role": "clinician", "password": PASSWORD},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    model = Model()

    def new_credential(kind: str) -> None:
        if not model.active:  # (a refused login would count against the address's limit)
            return
        login = client.post("/api/auth/login", json={"email": email, "password": model.password})
        assert login.status_code == 200, login.text
        cookie = login.cookies.get("nw_session")
        assert cookie
        client.cookies.clear()
        if kind == "login":
            model.credentials[cookie] = True
            return
        minted = client.post(
            "/api/auth/tokens", json={"days": 1}, headers={"authorization": f"Bearer {cookie}"}
        )
        assert minted.status_code == 200, minted.text
        model.credentials[minted.json()["token"]] = True

    for action, body in sequence:
        if action == "edit":
            etag = client.get(f"/api/users/{user_id}", headers=admin).headers["etag"]
            response = client.patch(
                f"/api/users/{user_id}", json=body, headers={**admin, "if-match": etag}
            )
            assert response.status_code == 200, response.text
            changed = (
                "password" in body
                or body.get("role", model.role) != model.role
                or body.get("active", model.active) != model.active
            )
            model.role = body.get("role", model.role)
            model.active = body.get("active", model.active)
            model.password = body.get("password", model.password)
            if changed:
                model.credentials = dict.fromkeys(model.credentials, False)
        else:
            new_credential(action)
        for token, alive in model.credentials.items():
            status = client.get(
                "/api/auth/me", headers={"authorization": f"Bearer {token}"}
            ).status_code
            expected = 200 if alive and model.active else 401
            assert status == expected, (action, body, model, status)


def test_no_sequence_of_admin_edits_leaves_a_credential_of_a_changed_user_working(
    prop_service: Service,
) -> None:
    run_sequence(prop_service)
