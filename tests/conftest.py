"""Shared fixtures.

* ``settings``      — Settings read from the environment (NEEDLEWISE_*), once per session.
* ``valuesets_dir`` — the value-set folder; skips with a reason when absent (fails when CI=true).
* ``conformance_dir`` — the public example folder; same rule.
* ``kb``            — the knowledge base loaded with the value sets (use for most tests).
* ``kb_core``       — the knowledge base without any value sets (core codes only).

Stored records (issue 3): every test that takes ``database_url`` runs twice, on SQLite and
on PostgreSQL, each time on a fresh database copied from a migrated template.

* ``database_url``  — a fresh, migrated database (parametrised: sqlite, postgresql).
* ``service``       — ``Service`` (app, runtime, seeded clinic with one user per role and
  their bearer headers, and an ``ApiClient``) on that database. Tests that need other
  settings build their own with ``support.service.make_service``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from needlewise.config import Settings
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.loader import load_cached
from needlewise.persistence.migrate import upgrade
from support import postgres
from support.service import Service, make_service, settings_for

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BROWSER_TESTS = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests (``tests/browser/``) are marked ``browser`` and run last: Playwright's
    synchronous API keeps an event loop running in the main thread while the browser is
    open, and the in-process client of every other test needs none to be running."""
    browser = [item for item in items if BROWSER_TESTS in Path(item.path).parents]
    for item in browser:
        item.add_marker(pytest.mark.browser)
    items[:] = [item for item in items if item not in browser] + browser


def require_folder(path: Path | None, what: str) -> Path:
    """Return ``path`` if it is a folder; otherwise skip (or fail under CI=true)."""
    if path is not None and path.is_dir():
        return path
    message = f"{what} folder {path} is absent (set NEEDLEWISE_{what.upper()}_DIR)"
    if IN_CI:
        pytest.fail(f"{message}; under CI it must be present")
    pytest.skip(message)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def valuesets_dir(settings: Settings) -> Path:
    return require_folder(settings.valuesets_dir, "valuesets")


@pytest.fixture(scope="session")
def conformance_dir(settings: Settings) -> Path:
    return require_folder(settings.conformance_dir, "conformance")


@pytest.fixture(scope="session")
def kb(valuesets_dir: Path) -> KnowledgeBase:
    return load_cached(valuesets_dir.resolve())


@pytest.fixture(scope="session")
def kb_core() -> KnowledgeBase:
    return load_cached(None)


# ------------------------------------------------------------------ databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest schema, copied for each test."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_base() -> Iterator[str]:
    """Base URL of a PostgreSQL server (the machine's, or a throwaway cluster)."""
    try:
        url, cluster = postgres.server()
    except (RuntimeError, OSError) as exc:
        message = f"no PostgreSQL server and none could be started ({exc})"
        if IN_CI:
            pytest.fail(f"{message}; under CI PostgreSQL is required")
        pytest.skip(message)
    try:
        yield url
    finally:
        if cluster is not None:
            cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_base: str) -> Iterator[str]:
    """Name of a migrated template database (dropped at the end of the session)."""
    name = f"nw_tpl_{uuid.uuid4().hex[:10]}"
    with postgres.admin(postgres_base) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    upgrade(f"{postgres_base}/{name}")
    yield name
    with postgres.admin(postgres_base) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fresh_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """A fresh database on the newest schema, copied from the template of ``backend``."""
    if backend == "sqlite":
        path = folder / "needlewise.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    base = request.getfixturevalue("postgres_base")
    template = request.getfixturevalue("postgres_template")
    name = f"nw_t_{uuid.uuid4().hex[:12]}"
    with postgres.admin(base) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    yield f"{base}/{name}"
    with postgres.admin(base) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on the newest schema, on each backend (one per test)."""
    yield from fresh_database(request, request.param, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database on each backend shared by one test module (for slow set-ups)."""
    yield from fresh_database(request, request.param, tmp_path_factory.mktemp("db"))


@pytest.fixture
def service(database_url: str, valuesets_dir: Path) -> Iterator[Service]:
    with make_service(settings_for(database_url, valuesets_dir)) as running:
        yield running
