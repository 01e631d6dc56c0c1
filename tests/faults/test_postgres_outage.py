"""A PostgreSQL server stopped under a running app, then started again.

The test starts its own throwaway cluster (``initdb`` + ``pg_ctl`` as the ``postgres``
user, never the machine's own server), runs the app on it, stops the cluster: requests
that need the database answer 503 with ``Retry-After`` and a plain reason that names no
host, ``/readyz`` says not ready, ``/healthz`` stays up. Once the cluster is started again
on the same port, the same app serves reads and writes without a restart.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import IN_CI
from needlewise.persistence.migrate import upgrade
from needlewise.security.roles import Role
from support import postgres
from support.service import make_service, settings_for


class PausableCluster(postgres.ThrowawayCluster):
    """A throwaway cluster that can be stopped and started again on the same port."""

    def pause(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop")

    def resume(self) -> None:
        self.start()


@pytest.fixture
def cluster() -> Iterator[PausableCluster]:
    try:
        started = PausableCluster()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        message = f"cannot start a throwaway PostgreSQL cluster ({exc})"
        if IN_CI:
            pytest.fail(f"{message}; under CI it must start")
        pytest.skip(message)
    try:
        yield started
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            started.resume()  # stop() expects a running cluster; no harm if it runs
        started.stop()


def test_a_stopped_server_answers_503_and_the_app_recovers(
    cluster: PausableCluster, valuesets_dir: Path
) -> None:
    with postgres.admin(cluster.url) as connection:
        connection.execute("CREATE DATABASE needlewise")
    url = f"{cluster.url}/needlewise"
    upgrade(url)
    service = make_service(settings_for(url, valuesets_dir, nlp_warmup=False))
    client = service.client
    try:
        headers = service.headers(Role.clinician)
        body = {"given_name": "Outage", "family_name": "Synthetic"}
        created = client.post("/api/patients", json=body, headers=headers)
        assert created.status_code == 201, created.text
        patient = f"/api/patients/{created.json()['id']}"

        cluster.pause()
        for response in (
            client.post("/api/patients", json=body, headers=headers),
            client.get(patient, headers=headers),
            client.post(f"{patient}/check-ins", json={"symptoms": []}, headers=headers),
        ):
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
            error = response.json()["error"]
            assert error["code"] == "database-unavailable"
            assert error["message"].startswith("the database cannot be reached")
            assert "127.0.0.1" not in response.text
            assert str(cluster.port) not in response.text
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "cannot be reached" in ready.json()["error"]["message"]
        assert client.get("/healthz").status_code == 200

        cluster.resume()
        assert client.get("/readyz").status_code == 200
        for _ in range(3):
            assert client.post("/api/patients", json=body, headers=headers).status_code == 201
        assert client.get(patient, headers=headers).status_code == 200
    finally:
        service.close()
