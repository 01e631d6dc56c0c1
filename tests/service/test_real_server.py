"""A real server process on both databases: concurrent writes and a crash.

* 50 check-ins for 50 different patients submitted at once over 50 connections: every
  one is acknowledged and stored, none lost or duplicated.
* SIGKILL the server in the middle of a burst of writes: the database opens cleanly
  afterwards (SQLite passes ``integrity_check``), every write the server acknowledged
  is there, and a new server starts on the same database.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
from sqlalchemy import func, select

from needlewise.config import Settings
from needlewise.persistence.db import sqlite_path
from needlewise.persistence.models import CheckIn
from needlewise.security.roles import Role
from needlewise.services.patients import PatientIn, create_patient
from needlewise.services.runtime import Runtime
from support.server import Server
from support.service import seed_clinic, settings_for
from support.waiting import wait_until_async

CHECK_IN = {"symptoms": ["symptom.soreness"], "hours_since_treatment": 20, "language": "en"}


def seed(database_url: str, valuesets_dir: Path, patients: int) -> tuple[str, list[int]]:
    """A seeded clinic and patients patients: (a clinician's API token, patient ids)."""
    runtime = Runtime.build(settings_for(database_url, valuesets_dir))
    clinic = seed_clinic(runtime)
    actor = clinic.actor(Role.clinician)
    ids = [
        create_patient(runtime, actor, PatientIn(given_name=f"P{i}", family_name="Synthetic")).id
        for i in range(patients)
    ]
    runtime.db.dispose()
    return clinic.tokens[Role.clinician], ids


def stored(database_url: str) -> dict[int, int]:
    """{check-in id: patient id} of every stored check-in (fresh connection)."""
    runtime = Runtime.build(Settings(database_url=database_url, secret_key="t"))
    with runtime.db.read() as session:
        rows = {row[0]: row[1] for row in session.execute(select(CheckIn.id, CheckIn.patient_id))}
    runtime.db.dispose()
    return rows


def test_fifty_concurrent_check_ins_are_all_stored(database_url: str, valuesets_dir: Path) -> None:
    token, patient_ids = seed(database_url, valuesets_dir, 50)
    server = Server(database_url, valuesets_dir)
    try:

        async def burst() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60) as client:
                headers = {"authorization": f"Bearer {token}"}
                return await asyncio.gather(
                    *(
                        client.post(
                            f"/api/patients/{pid}/check-ins", json=CHECK_IN, headers=headers
                        )
                        for pid in patient_ids
                    )
                )

        responses = asyncio.run(burst())
    finally:
        server.stop()
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    acknowledged = {r.json()["id"]: r.json()["patient_id"] for r in responses}
    rows = stored(database_url)
    assert rows == acknowledged
    assert sorted(rows.values()) == sorted(patient_ids)  # one each: none lost, none doubled


def test_crash_in_a_burst_of_writes_loses_nothing_acknowledged(
    database_url: str, valuesets_dir: Path
) -> None:
    token, patient_ids = seed(database_url, valuesets_dir, 8)
    server = Server(database_url, valuesets_dir)
    acknowledged: dict[int, int] = {}

    async def writer(client: httpx.AsyncClient, patient_id: int) -> None:
        headers = {"authorization": f"Bearer {token}"}
        while True:  # until the kill below: then the next request fails
            try:
                response = await client.post(
                    f"/api/patients/{patient_id}/check-ins", json=CHECK_IN, headers=headers
                )
            except httpx.HTTPError:
                return  # the server is gone
            assert response.status_code == 201, response.text[:300]
            acknowledged[response.json()["id"]] = patient_id

    async def burst() -> None:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            tasks = [asyncio.create_task(writer(client, pid)) for pid in patient_ids]
            try:
                await wait_until_async(
                    lambda: len(acknowledged) >= 150 or all(task.done() for task in tasks),
                    "150 acknowledged check-ins from 8 writers",
                    within=120,
                )
            finally:
                server.kill()  # SIGKILL while 8 writers are mid-request
            await asyncio.gather(*tasks)

    try:
        asyncio.run(burst())
    finally:
        server.stop()
    assert len(acknowledged) >= 150

    path = sqlite_path(database_url)
    if path is not None:
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = stored(database_url)
    missing = {i: p for i, p in acknowledged.items() if rows.get(i) != p}
    assert missing == {}
    assert len(rows) >= len(acknowledged)  # writes in flight at the kill may also have landed

    restarted = Server(database_url, valuesets_dir)  # the database opens and serves again
    try:
        count = httpx.get(
            f"{restarted.base}/api/check-ins?limit=1",
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        ).json()["total"]
    finally:
        restarted.stop()
    assert count == len(rows)


def test_restarted_server_counts_match_the_database(database_url: str, valuesets_dir: Path) -> None:
    """A sanity check for the helpers above: an idle server leaves no rows behind."""
    token, _ = seed(database_url, valuesets_dir, 1)
    server = Server(database_url, valuesets_dir)
    try:
        response = httpx.get(
            f"{server.base}/api/check-ins", headers={"authorization": f"Bearer {token}"}, timeout=30
        )
    finally:
        server.stop()
    assert response.status_code == 200
    assert response.json()["total"] == 0 == len(stored(database_url))
    runtime = Runtime.build(Settings(database_url=database_url, secret_key="t"))
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 0
    runtime.db.dispose()
