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

from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime
from needlewise.services.users import UserPatch, update_user
from support.server import Server
from support.service import seed_clinic, settings_for

#: polls of the server after the change, 0.2 s apart: far more than a 1 s cache needs
POLLS = 50


def test_another_process_ends_the_credentials_when_its_cache_runs_out(
    database_url: str, valuesets_dir: Path
) -> None:
    runtime = Runtime.build(settings_for(database_url, valuesets_dir))
    clinic = seed_clinic(runtime)
    user = clinic.users[Role.clinician]
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic.id)
    token = clinic.tokens[Role.clinician]
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
