"""A read-only and a full SQLite database under a running app: writes answer 503 with
``Retry-After`` and a plain reason (not a 500 "internal error"), reads still work,
``/readyz`` says not ready, and once the fault clears the same app serves writes again
without a restart.

* **Read-only**: the test makes the database file unwritable (as root, where file modes do
  not bind, with the immutable attribute: ``chattr +i``; otherwise ``chmod 400``) before
  the app opens its first connection, so the app's connections are opened read-only —
  which SQLite keeps them, even after the file is writable again.
* **Full**: the database lives on a small tmpfs that the test fills with another file
  (``mount -t tmpfs`` needs root: the test skips, with the reason, where it is not
  permitted, and fails under CI=true). A full disk is what an operator meets; SQLite's
  ``PRAGMA max_page_count`` would give the same SQLITE_FULL deterministically but is set
  per connection, so it could not be applied to the app's own connections from outside.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import IN_CI, seed_clinic
from needlewise.config import Settings
from needlewise.security.roles import Role
from needlewise.services.runtime import Runtime
from needlewise.web.app import create_app
from support.http import ApiClient

CHECK_IN = {"symptoms": ["symptom.soreness"], "hours_since_treatment": 20}


def unavailable(what: str) -> None:
    message = f"cannot set up {what} here"
    if IN_CI:
        pytest.fail(f"{message}; under CI it must work (root on Debian 12)")
    pytest.skip(message)


class App:
    """The API on ``database_url`` with a seeded clinic and one patient."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.runtime: Runtime = self.app.state.runtime
        self.client = ApiClient(self.app)

    def seed(self) -> None:
        self.clinic_id, _, self.tokens = seed_clinic(self.runtime)
        self.patient_id = self.create_patient().json()["id"]

    def headers(self, role: Role = Role.clinician) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"}

    def create_patient(self) -> object:
        response = self.client.post(
            "/api/patients",
            json={"given_name": "Fault", "family_name": "Synthetic"},
            headers=self.headers(),
        )
        return response

    def close(self) -> None:
        self.client.close()
        self.runtime.db.dispose()


def settings_for(path: Path, valuesets_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}",
        valuesets_dir=valuesets_dir,
        secret_key="test-secret-key",
        nlp_warmup=False,
    )


def assert_unavailable(response: object, reason: str) -> None:
    """503, Retry-After in seconds, and the plain reason: no driver text, no file name."""
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["error"]
    assert error["code"] == "database-unavailable"
    assert error["message"].startswith(reason), error["message"]
    assert ".sqlite" not in response.text
    assert "sqlite3" not in response.text.lower()


def assert_writes_and_reads_fail_and_recover(app: App, reason: str, clear: object) -> None:
    """With the fault on: reads that write nothing work, while writes, reads of patient
    data (each is audited: a write) and readiness answer 503. Then ``clear()`` the
    fault: every later write succeeds on the first try, on the same app."""
    patient = f"/api/patients/{app.patient_id}"
    assert app.client.get("/api/clinic", headers=app.headers()).status_code == 200
    assert_unavailable(app.client.get(patient, headers=app.headers()), reason)
    assert_unavailable(app.create_patient(), reason)
    check_in = app.client.post(f"{patient}/check-ins", json=CHECK_IN, headers=app.headers())
    assert_unavailable(check_in, reason)  # group-committed writes too
    ready = app.client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert reason in ready.json()["error"]["message"]
    assert int(ready.headers["retry-after"]) > 0
    assert app.client.get("/healthz").status_code == 200
    assert app.client.get("/api/clinic", headers=app.headers()).status_code == 200

    clear()  # type: ignore[operator]
    assert app.client.get("/readyz").status_code == 200
    for _ in range(5):  # every write, not just a share of them
        created = app.create_patient()
        assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    check_in = app.client.post(f"{patient}/check-ins", json=CHECK_IN, headers=app.headers())
    assert check_in.status_code == 201, check_in.text
    assert app.client.get(patient, headers=app.headers()).status_code == 200


# ------------------------------------------------------------------ read-only


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    result = subprocess.run([chattr, flag, str(path)], capture_output=True, check=False)
    return result.returncode == 0


@pytest.fixture
def read_only_switch() -> Iterator[tuple[object, object]]:
    """(make_read_only(path), make_writable(path)) that bind even for root."""
    touched: list[Path] = []

    def read_only(path: Path) -> None:
        touched.append(path)
        if os.geteuid() == 0:
            if not _chattr("+i", path):
                unavailable("an immutable file (chattr +i)")
        else:
            path.chmod(0o400)

    def writable(path: Path) -> None:
        if os.geteuid() == 0:
            assert _chattr("-i", path)
        else:
            path.chmod(0o600)

    yield read_only, writable
    for path in touched:  # never leave an undeletable file behind
        if os.geteuid() == 0:
            _chattr("-i", path)
        else:
            path.chmod(0o600)


def test_a_read_only_database_answers_503_and_recovers(
    sqlite_template: Path, valuesets_dir: Path, tmp_path: Path, read_only_switch: tuple
) -> None:
    read_only, writable = read_only_switch
    path = tmp_path / "needlewise.sqlite"
    shutil.copyfile(sqlite_template, path)
    settings = settings_for(path, valuesets_dir)
    seeding = App(settings)
    seeding.seed()
    seeding.close()  # every connection closed: the app below opens its own

    read_only(path)
    app = App(settings)
    app.tokens, app.patient_id = seeding.tokens, seeding.patient_id
    try:
        assert_writes_and_reads_fail_and_recover(
            app, "the database is read-only", lambda: writable(path)
        )
    finally:
        app.close()


# ------------------------------------------------------------------ full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        unavailable(f"a small tmpfs ({result.stderr.decode(errors='replace').strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte with one file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 16, 1 << 12, 1 << 8, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def test_a_full_disk_answers_503_and_recovers(
    sqlite_template: Path, valuesets_dir: Path, small_disk: Path
) -> None:
    path = small_disk / "needlewise.sqlite"
    shutil.copyfile(sqlite_template, path)
    app = App(settings_for(path, valuesets_dir))
    try:
        app.seed()
        filler = fill(small_disk)
        assert_writes_and_reads_fail_and_recover(app, "the database's disk is full", filler.unlink)
    finally:
        app.close()
