"""``GET /readyz`` on both databases: ready while the database answers with the newest
schema; 503 naming the fix when the schema falls behind, and again once it is upgraded;
503 when the database is gone or damaged. ``/healthz`` stays 200 throughout: liveness
never depends on the database."""

from __future__ import annotations

from needlewise.persistence.db import sqlite_path
from needlewise.persistence.migrate import downgrade, head, upgrade
from support import postgres
from support.service import Service


def test_ready_with_the_newest_schema(service: Service) -> None:
    response = service.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "knowledge": service.runtime.kb.version,
        "schema": head(),
    }


def test_not_ready_while_the_schema_is_behind(service: Service) -> None:
    url = service.runtime.settings.database_url
    service.runtime.db.dispose()  # PostgreSQL: let the migration take its locks
    downgrade(url, "-1")
    response = service.client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not-ready"
    assert f"this version needs {head()}" in error["message"]
    assert "needlewise db upgrade" in error["message"]
    assert service.client.get("/healthz").status_code == 200
    upgrade(url)
    assert service.client.get("/readyz").status_code == 200


def test_not_ready_when_the_database_is_gone(service: Service) -> None:
    """PostgreSQL: the database is dropped under the running app. SQLite: the file is
    found damaged by the next connection (here, overwritten with text)."""
    url = service.runtime.settings.database_url
    path = sqlite_path(url)
    if path is not None:
        service.runtime.db.dispose()
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            extra.unlink(missing_ok=True)
        path.write_bytes(b"this is not a database\n" * 200)
        name = path.name
    else:
        base, name = url.rsplit("/", 1)
        with postgres.admin(base) as connection:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")
    response = service.client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not-ready"
    assert error["message"].startswith("the database cannot be used (")
    assert name not in response.text  # no host, user, file or database name in the answer
    assert service.client.get("/healthz").status_code == 200
