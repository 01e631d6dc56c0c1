"""Attack (issue 9, finding 1) across processes, on SQLite and on PostgreSQL: a change of
password and role made by one process ends the user's credentials on another process
(a real server) too, within that process's ``NEEDLEWISE_AUTH_CACHE_SECONDS``, even
though the other process had just checked and cached them.

The server runs with a one-second cache; the test polls it a bounded number of times.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from conftest import PASSWORD
from needlewise.config import Settings
from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.api_tokens import mint_api_token
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.runtime import Runtime
from needlewise.services.users import UserIn, UserPatch, create_user, update_user
from support.server import Server

#: polls of the server after the change, 0.2 s apart: far more than a 1 s cache needs
POLLS = 50


def test_another_process_ends_the_credentials_when_its_cache_runs_out(
    database_url: str, valuesets_dir: Path
) -> None:
    runtime = Runtime.build(
        Settings(database_url=database_url, valuesets_dir=valuesets_dir, secret_key="t")
    )
    clinic_id = create_clinic(runtime, ClinicIn(name="Two Process Clinic"))
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
    create_user(
        runtime,
        system,
        UserIn(email="boss@clinic.example", name="Boss", role=Role.admin, password=PASSWORD),
    )
    user = create_user(
        runtime,
        system,
        UserIn(email="pt@clinic.example", name="PT", role=Role.clinician, password=PASSWORD),
    )
    actor = Actor(ref=f"user:{user.id}", user_id=user.id, role=Role.clinician, clinic_id=clinic_id)
    token, _ = mint_api_token(runtime, actor, days=1)
    bearer = {"authorization": f"Bearer {token}"}

    server = Server(
        database_url,
        valuesets_dir,
        NEEDLEWISE_AUTH_CACHE_SECONDS="1",
        NEEDLEWISE_NLP_WARMUP="false",
    )
    try:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            assert client.get("/api/auth/me", headers=bearer).status_code == 200  # cached now
            update_user(
                runtime,
                system,
                user.id,
                user.version,
                UserPatch(password="granite otter lantern quietly", role=Role.front_desk),
            )
            statuses = []
            for _ in range(POLLS):
                statuses.append(client.get("/api/auth/me", headers=bearer).status_code)
                if statuses[-1] == 401:
                    break
                time.sleep(0.2)
            assert statuses[-1] == 401, statuses
            assert set(statuses) <= {200, 401}
            # and it stays ended
            assert client.get("/api/auth/me", headers=bearer).status_code == 401
    finally:
        server.stop()
        runtime.db.dispose()
