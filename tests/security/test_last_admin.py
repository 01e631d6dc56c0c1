"""Attack: leaving a clinic with no active admin (issue 9, finding 10, in part), on SQLite
and on PostgreSQL.

The attack as found: the only admin of a clinic could deactivate or demote themselves
(by mistake or under someone's influence), and then nobody could manage accounts any
more. No edit, by anyone, may leave a clinic without an active admin; two admins demoting
each other at the same moment must not get there either.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from needlewise.errors import Conflict
from needlewise.persistence.models import User
from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.api_tokens import mint_api_token
from needlewise.services.users import UserIn, UserPatch, create_user, get_user, update_user
from support.service import PASSWORD, Service


def patch(service: Service, user_id: int, body: dict[str, Any], as_user: dict[str, str]) -> Any:
    etag = service.client.get(f"/api/users/{user_id}", headers=as_user).headers["etag"]
    return service.client.patch(
        f"/api/users/{user_id}", json=body, headers={**as_user, "if-match": etag}
    )


def active_admins(service: Service) -> int:
    with service.runtime.db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(User)
                .where(
                    User.clinic_id == service.clinic_id, User.role == "admin", User.active.is_(True)
                )
            )
            or 0
        )


def second_admin(service: Service, email: str = "second-admin@clinic.example") -> int:
    created = service.client.post(
        "/api/users",
        json={"email": email, "name": "Second Admin", "role": "admin", "password": PASSWORD},
        headers=service.headers(Role.admin),
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.mark.parametrize(
    "body",
    [{"active": False}, {"role": "clinician"}, {"role": "front-desk", "name": "Still Me"}],
    ids=["deactivate", "demote", "demote+rename"],
)
def test_the_last_admin_cannot_deactivate_or_demote_themselves(
    service: Service, body: dict[str, Any]
) -> None:
    admin = service.users[Role.admin]
    response = patch(service, admin.id, body, service.headers(Role.admin))
    assert response.status_code == 409, response.text
    assert "admin" in response.json()["error"]["message"]
    after = service.client.get(f"/api/users/{admin.id}", headers=service.headers(Role.admin))
    assert after.json()["version"] == admin.version  # nothing changed, the name neither
    assert active_admins(service) == 1


def test_another_admin_cannot_remove_the_last_active_one(service: Service) -> None:
    first = service.users[Role.admin]
    second = second_admin(service)
    # the second admin demotes the first: allowed, one admin remains
    token, _ = mint_api_token(
        service.runtime,
        Actor(ref=f"user:{second}", user_id=second, role=Role.admin, clinic_id=service.clinic_id),
        days=1,
    )
    theirs = {"authorization": f"Bearer {token}"}
    assert patch(service, first.id, {"role": "clinician"}, theirs).status_code == 200
    # now the second is the last one: they may not leave either
    assert patch(service, second, {"active": False}, theirs).status_code == 409
    assert patch(service, second, {"role": "front-desk"}, theirs).status_code == 409
    assert active_admins(service) == 1


def test_an_inactive_admin_does_not_count(service: Service) -> None:
    first = service.users[Role.admin]
    admin = service.headers(Role.admin)
    second = second_admin(service)
    assert patch(service, second, {"active": False}, admin).status_code == 200
    assert patch(service, first.id, {"role": "clinician"}, admin).status_code == 409
    assert active_admins(service) == 1


def test_a_clinic_can_still_change_its_admin_when_there_is_another(service: Service) -> None:
    first = service.users[Role.admin]
    second_admin(service)
    assert patch(service, first.id, {"active": False}, service.headers(Role.admin)).status_code == (
        200
    )
    assert active_admins(service) == 1


def test_two_admins_demoting_each_other_at_once_leave_one(service: Service) -> None:
    """Both requests see two admins when they start; only one may win."""
    first = service.users[Role.admin]
    runtime = service.runtime
    for round_ in range(6):
        # through the service functions: the demotions end the seeded admin's token
        second = create_user(
            runtime,
            Actor(ref="system", role=Role.admin, clinic_id=service.clinic_id),
            UserIn(
                email=f"racer-{round_}@clinic.example",
                name="Racer Admin",
                role=Role.admin,
                password=PASSWORD,
            ),
        ).id
        actors = {
            uid: Actor(ref=f"user:{uid}", user_id=uid, role=Role.admin, clinic_id=service.clinic_id)
            for uid in (first.id, second)
        }
        versions = {
            uid: get_user(runtime, actors[first.id], uid).version for uid in (first.id, second)
        }
        barrier = threading.Barrier(2, timeout=30)
        outcomes: list[str] = []

        def demote(
            by: int,
            target: int,
            barrier: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
            actors: dict[int, Actor] = actors,
            versions: dict[int, int] = versions,
        ) -> None:
            barrier.wait()
            try:
                update_user(
                    runtime,
                    actors[by],
                    target,
                    versions[target],
                    UserPatch(role=Role.clinician),
                )
                outcomes.append("ok")
            except Conflict:
                outcomes.append("refused")

        threads = [
            threading.Thread(target=demote, args=(first.id, second)),
            threading.Thread(target=demote, args=(second, first.id)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["ok", "refused"], outcomes
        assert active_admins(service) == 1
        # put the first admin back for the next round (if it was the one demoted)
        with runtime.db.read() as session:
            first_role = session.scalar(select(User.role).where(User.id == first.id))
        if first_role != "admin":
            other = second
            version = get_user(runtime, actors[other], first.id).version
            update_user(runtime, actors[other], first.id, version, UserPatch(role=Role.admin))
            version = get_user(runtime, actors[other], other).version
            update_user(runtime, actors[first.id], other, version, UserPatch(active=False))
        else:
            version = get_user(runtime, actors[first.id], second).version
            update_user(runtime, actors[first.id], second, version, UserPatch(active=False))
        assert active_admins(service) == 1
