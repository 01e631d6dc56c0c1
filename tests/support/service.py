"""The one way tests build a running service and the one way they seed a clinic.

* ``settings_for(database_url, valuesets_dir)`` — the test settings (fixed secret key,
  the shared conformance folder); keyword arguments override any setting.
* ``seed_clinic(runtime)`` — a clinic with one active user per role, each with an API
  token, written through the services (``create_clinic``, ``create_user``,
  ``mint_api_token``) as an operator's would be.
* ``make_service(settings)`` — the app, its runtime, a seeded clinic and an ``ApiClient``;
  close it (or use ``with``) when done. The ``service`` fixture is one of these on a fresh
  database; a test that needs other settings (or one service for a whole module) calls
  ``make_service`` itself.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from needlewise.config import Settings
from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.api_tokens import mint_api_token
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.runtime import Runtime
from needlewise.services.users import UserIn, UserOut, create_user
from needlewise.web.app import create_app
from support.http import ApiClient

PASSWORD = "correct horse battery staple"
"""The password of every seeded user."""

CONFORMANCE_DIR = Path("../shared/conformance")
#: the task-queue file of every test's worker port (one per test process)
TEST_QUEUE = Path(tempfile.gettempdir()) / f"needlewise-test-queue-{os.getpid()}.db"


def settings_for(
    database_url: str, valuesets_dir: Path | None = None, **overrides: Any
) -> Settings:
    """Settings for a test on ``database_url``; ``overrides`` replace any setting."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "valuesets_dir": valuesets_dir,
        "secret_key": "test-secret-key",
        "conformance_dir": CONFORMANCE_DIR,
        # the worker's queue (woken when a use case schedules a message): never the
        # checkout's var/ folder
        "worker_queue_file": TEST_QUEUE,
        **overrides,
    }
    return Settings(**values)


@dataclass(frozen=True)
class Clinic:
    """A seeded clinic: its id, one active user per role and each user's API token."""

    id: int
    users: dict[Role, UserOut]
    tokens: dict[Role, str]

    def headers(self, role: Role) -> dict[str, str]:
        """Bearer headers of the seeded user with ``role``."""
        return {"authorization": f"Bearer {self.tokens[role]}"}

    def actor(self, role: Role) -> Actor:
        """The seeded user with ``role``, as the services see a caller."""
        user = self.users[role]
        return Actor(ref=self.ref(role), user_id=user.id, role=role, clinic_id=self.id)

    def ref(self, role: Role) -> str:
        """The seeded user with ``role`` as the audit log names them."""
        return f"user:{self.users[role].id}"


def seed_clinic(
    runtime: Runtime, name: str = "Synthetic Test Clinic", domain: str = "clinic.example"
) -> Clinic:
    """A clinic with one active user per role (``<role>@<domain>``, password
    ``PASSWORD``), each with an API token valid for a day. Seed a second clinic on the
    same database under another ``name`` and ``domain``."""
    clinic_id = create_clinic(runtime, ClinicIn(name=name, phones=["555-0100"]))
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
    users: dict[Role, UserOut] = {}
    tokens: dict[Role, str] = {}
    for role in Role:
        user = create_user(
            runtime,
            system,
            UserIn(
                email=f"{role.value}@{domain}",
                name=f"Test {role.value}",
                role=role,
                password=PASSWORD,
            ),
        )
        users[role] = user
        actor = Actor(ref=f"user:{user.id}", user_id=user.id, role=role, clinic_id=clinic_id)
        tokens[role], _ = mint_api_token(runtime, actor, days=1)
    return Clinic(id=clinic_id, users=users, tokens=tokens)


@dataclass
class Service:
    """A running service with a seeded clinic, and an in-process client to it."""

    app: FastAPI
    runtime: Runtime
    client: ApiClient
    clinic: Clinic

    @property
    def clinic_id(self) -> int:
        return self.clinic.id

    @property
    def users(self) -> dict[Role, UserOut]:
        return self.clinic.users

    @property
    def tokens(self) -> dict[Role, str]:
        return self.clinic.tokens

    def headers(self, role: Role) -> dict[str, str]:
        """Bearer headers of the seeded user with ``role``."""
        return self.clinic.headers(role)

    def actor(self, role: Role) -> Actor:
        """The seeded user with ``role``, as the services see a caller."""
        return self.clinic.actor(role)

    def close(self) -> None:
        """Close the client and every database connection."""
        self.client.close()
        self.runtime.db.dispose()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def make_service(
    settings: Settings, *, clinic: Clinic | None = None, raise_app_exceptions: bool = True
) -> Service:
    """``create_app(settings)`` with a seeded clinic and an ``ApiClient`` (which, with
    ``raise_app_exceptions=False``, sees a 500 as the response the app sends).

    Pass the ``clinic`` of an earlier service on the same database to start a second app
    on it without writing anything (as a restarted server would)."""
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    if clinic is None:
        try:
            clinic = seed_clinic(runtime)
        except BaseException:
            runtime.db.dispose()
            raise
    return Service(
        app=app,
        runtime=runtime,
        client=ApiClient(app, raise_app_exceptions=raise_app_exceptions),
        clinic=clinic,
    )
