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
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import IN_CI
from needlewise.config import Settings
from needlewise.security.roles import Role
from support.service import Service, make_service, settings_for

CHECK_IN = {"symptoms": ["symptom.soreness"], "hours_since_treatment": 20}


def unavailable(what: str) -> None:
    message = f"cannot set up {what} here"
    if IN_CI:
        pytest.fail(f"{message}; under CI it must work (root on Debian 12)")
    pytest.skip(message)


def create_patient(service: Service) -> httpx.Response:
    return service.client.post(
        "/api/patients",
        json={"given_name": "Fault", "family_name": "Synthetic"},
        headers=service.headers(Role.clinician),
    )


def seeded(settings: Settings) -> tuple[Service, int]:
    """A service with a seeded clinic and the id of one patient."""
    service = make_service(settings)
    created = create_patient(service)
    assert created.status_code == 201, created.text
    patient_id: int = created.json()["id"]
    return service, patient_id


def sqlite_settings(path: Path, valuesets_dir: Path) -> Settings:
    return settings_for(f"sqlite:///{path}", valuesets_dir, nlp_warmup=False)


def assert_unavailable(response: httpx.Response, reason: str) -> None:
    """503, Retry-After in seconds, and the plain reason: no driver text, no file name."""
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["error"]
    assert error["code"] == "database-unavailable"
    assert error["message"].startswith(reason), error["message"]
    assert ".sqlite" not in response.text
    assert "sqlite3" not in response.text.lower()


def assert_writes_and_reads_fail_and_recover(
    service: Service, patient_id: int, reason: str, clear: Callable[[], object]
) -> None:
    """With the fault on: reads that write nothing work, while writes, reads of patient
    data (each is audited: a write) and readiness answer 503. Then ``clear()`` the
    fault: every later write succeeds on the first try, on the same app."""
    client, headers = service.client, service.headers(Role.clinician)
    patient = f"/api/patients/{patient_id}"
    assert client.get("/api/clinic", headers=headers).status_code == 200
    assert_unavailable(client.get(patient, headers=headers), reason)
    assert_unavailable(create_patient(service), reason)
    check_in = client.post(f"{patient}/check-ins", json=CHECK_IN, headers=headers)
    assert_unavailable(check_in, reason)  # group-committed writes too
    ready = client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert reason in ready.json()["error"]["message"]
    assert int(ready.headers["retry-after"]) > 0
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/clinic", headers=headers).status_code == 200

    clear()
    assert client.get("/readyz").status_code == 200
    for _ in range(5):  # every write, not just a share of them
        created = create_patient(service)
        assert created.status_code == 201, created.text
    check_in = client.post(f"{patient}/check-ins", json=CHECK_IN, headers=headers)
    assert check_in.status_code == 201, check_in.text
    assert client.get(patient, headers=headers).status_code == 200


# ------------------------------------------------------------------ read-only


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    result = subprocess.run([chattr, flag, str(path)], capture_output=True, check=False)
    return result.returncode == 0


Switch = tuple[Callable[[Path], None], Callable[[Path], None]]


@pytest.fixture
def read_only_switch() -> Iterator[Switch]:
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
    sqlite_template: Path, valuesets_dir: Path, tmp_path: Path, read_only_switch: Switch
) -> None:
    read_only, writable = read_only_switch
    path = tmp_path / "needlewise.sqlite"
    shutil.copyfile(sqlite_template, path)
    settings = sqlite_settings(path, valuesets_dir)
    seeding, patient_id = seeded(settings)
    seeding.close()  # every connection closed: the app below opens its own

    read_only(path)
    with make_service(settings, clinic=seeding.clinic) as service:
        assert_writes_and_reads_fail_and_recover(
            service, patient_id, "the database is read-only", lambda: writable(path)
        )


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


def fill(folder: Path, at_most: int = 64 << 20) -> Path:
    """Fill the file system of ``folder`` to the last byte with one file (failing if
    ``at_most`` bytes fit: the small disk is not what it should be)."""
    filler = folder / "filler"
    written = 0
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 16, 1 << 12, 1 << 8, 1):
            try:
                while written <= at_most:
                    written += handle.write(b"\0" * size) or 0
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    if written > at_most:
        pytest.fail(f"wrote {at_most} bytes to {folder} without filling it")
    return filler


def test_a_full_disk_answers_503_and_recovers(
    sqlite_template: Path, valuesets_dir: Path, small_disk: Path
) -> None:
    path = small_disk / "needlewise.sqlite"
    shutil.copyfile(sqlite_template, path)
    service, patient_id = seeded(sqlite_settings(path, valuesets_dir))
    with service:
        filler = fill(small_disk)
        assert_writes_and_reads_fail_and_recover(
            service, patient_id, "the database's disk is full", filler.unlink
        )
