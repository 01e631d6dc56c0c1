"""Two edits of the same version of a record, sent at the same moment, on both databases.

Each versioned record is raced the same way: the test holds the record's row locked from
its own connection (PostgreSQL: ``SELECT … FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE``),
sends two edits with the same ``If-Match`` through the ASGI app at once and, on
PostgreSQL, waits until both are blocked on that lock (so both have read the same version
and passed the version check), then lets go. One edit wins; the loser must get the answer
a late edit with the same ETag gets (412 for an edit, 409 for a second acknowledgement of a
check-in) — never a 500 — and the record holds the winner's change at the next version.

SQLite runs writers one at a time, so there the second edit always sees the first one's
result; the same assertions hold.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from needlewise.persistence.db import sqlite_path
from needlewise.security.roles import Role
from support.http import asgi_client
from support.service import Service
from support.treatment import add_consent, make_patient, make_provider, ready_patient, session_body

WAIT_STEPS = 500  # polls of 20 ms: at most 10 s for both edits to queue on the lock


class HeldRow:
    """A row locked by a connection of the test, released on demand."""

    def __init__(self, database_url: str, table: str, row_id: int) -> None:
        self.path = sqlite_path(database_url)
        self.dsn = database_url.replace("+psycopg", "")
        if self.path is not None:
            self.sqlite = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self.sqlite.execute("BEGIN IMMEDIATE")  # the database's one write lock
        else:
            self.pg = psycopg.connect(self.dsn)
            self.pg.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", (row_id,))

    async def both_waiting(self) -> None:
        """Return once two other sessions wait for a lock (PostgreSQL), or after a pause
        that lets both requests reach the lock (SQLite offers no way to see waiters)."""
        if self.path is not None:
            await asyncio.sleep(0.5)
            return
        with psycopg.connect(self.dsn, autocommit=True) as watcher:
            for _ in range(WAIT_STEPS):
                row = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ).fetchone()
                if row is not None and row[0] >= 2:
                    return
                await asyncio.sleep(0.02)
        pytest.fail("the two edits never both waited for the locked row")

    def release(self) -> None:
        if self.path is not None:
            self.sqlite.execute("COMMIT")
            self.sqlite.close()
        else:
            self.pg.commit()
            self.pg.close()


@dataclass
class Case:
    """One versioned record: how to make it, read it and change it."""

    kind: str
    table: str
    make: Callable[[Service], int]  # -> record id
    url: Callable[[int], str]  # the record's URL (GET gives its ETag)
    method: str
    edit_url: Callable[[int], str]
    bodies: tuple[Any, Any]  # the two competing edits
    role: Role
    stored: Callable[[dict[str, Any]], Any]  # what of the record tells the edits apart
    late_status: int = 412


def _consent(service: Service) -> int:
    return add_consent(service, make_patient(service))


def _session(service: Service) -> int:
    patient, provider = ready_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _adverse_event(service: Service) -> int:
    patient, _provider = ready_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/adverse-events",
        json={
            "event_type": "risk.bruising",
            "severity": "mild",
            "serious": False,
            "outcome": "resolving",
            "onset_at": "2026-11-20T10:00:00+00:00",
            "description": "Synthetic bruise at the needling site",
        },
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _check_in(service: Service) -> int:
    response = service.client.post(
        f"/api/patients/{make_patient(service)}/check-ins",
        json={"symptoms": ["symptom.soreness"], "hours_since_treatment": 20},
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _clinic(service: Service) -> int:
    return service.clinic_id


def _front_desk_user(service: Service) -> int:
    return service.users[Role.front_desk].id


CASES = [
    Case(
        "patient",
        "patients",
        make_patient,
        lambda i: f"/api/patients/{i}",
        "PATCH",
        lambda i: f"/api/patients/{i}",
        ({"phone": "555-0101"}, {"phone": "555-0202"}),
        Role.front_desk,
        lambda out: out["phone"],
    ),
    Case(
        "consent",
        "consents",
        _consent,
        lambda i: f"/api/consents/{i}",
        "POST",
        lambda i: f"/api/consents/{i}/withdraw",
        ({"reason": "Synthetic reason one"}, {"reason": "Synthetic reason two"}),
        Role.clinician,
        lambda out: out["withdrawal_reason"],
    ),
    Case(
        "provider",
        "providers",
        make_provider,
        lambda i: f"/api/providers/{i}",
        "PATCH",
        lambda i: f"/api/providers/{i}",
        ({"licence_number": "SYN-A"}, {"licence_number": "SYN-B"}),
        Role.admin,
        lambda out: out["licence_number"],
    ),
    Case(
        "session",
        "treatment_sessions",
        _session,
        lambda i: f"/api/sessions/{i}",
        "PATCH",
        lambda i: f"/api/sessions/{i}",
        ({"notes": "Synthetic note one"}, {"notes": "Synthetic note two"}),
        Role.clinician,
        lambda out: out["notes"],
    ),
    Case(
        "adverse-event",
        "adverse_events",
        _adverse_event,
        lambda i: f"/api/adverse-events/{i}",
        "PATCH",
        lambda i: f"/api/adverse-events/{i}",
        ({"description": "Synthetic one"}, {"description": "Synthetic two"}),
        Role.clinician,
        lambda out: out["description"],
    ),
    Case(
        "check-in",
        "check_ins",
        _check_in,
        lambda i: f"/api/check-ins/{i}",
        "POST",
        lambda i: f"/api/check-ins/{i}/acknowledge",
        (None, None),
        Role.clinician,
        lambda out: out["acknowledged_at"] is not None,
        late_status=409,  # acknowledged once: a second acknowledgement is a conflict
    ),
    Case(
        "user",
        "users",
        _front_desk_user,
        lambda i: f"/api/users/{i}",
        "PATCH",
        lambda i: f"/api/users/{i}",
        ({"name": "Synthetic Name One"}, {"name": "Synthetic Name Two"}),
        Role.admin,
        lambda out: out["name"],
    ),
    Case(
        "clinic",
        "clinics",
        _clinic,
        lambda _i: "/api/clinic",
        "PUT",
        lambda _i: "/api/clinic",
        ({"name": "Synthetic Clinic One"}, {"name": "Synthetic Clinic Two"}),
        Role.admin,
        lambda out: out["name"],
    ),
]


async def _race(service: Service, held: HeldRow, requests: list[dict[str, Any]]) -> list[int]:
    async with asgi_client(service.app, remote=("203.0.113.8", 40001)) as client:
        tasks = [asyncio.create_task(client.request(**request)) for request in requests]
        try:
            await held.both_waiting()
        finally:
            held.release()
        responses = await asyncio.gather(*tasks)
    for response in responses:
        assert response.status_code < 500, response.text
    return [response.status_code for response in responses]


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_the_loser_of_a_race_is_answered_like_a_late_edit(service: Service, case: Case) -> None:
    record_id = case.make(service)
    headers = service.headers(case.role)
    read = service.client.get(case.url(record_id), headers=headers)
    assert read.status_code == 200, read.text
    before = read.json()["version"]
    requests = [
        {
            "method": case.method,
            "url": case.edit_url(record_id),
            "headers": {**headers, "if-match": read.headers["etag"]},
            **({"json": body} if body is not None else {}),
        }
        for body in case.bodies
    ]
    held = HeldRow(service.runtime.settings.database_url, case.table, record_id)
    statuses = asyncio.run(_race(service, held, requests))

    assert sorted(statuses) == sorted([200, case.late_status]), statuses
    winner = statuses.index(200)
    # the loser got what the same request gets when it arrives after the winner
    late = service.client.request(**requests[1 - winner])
    assert late.status_code == case.late_status, late.text
    after = service.client.get(case.url(record_id), headers=headers).json()
    assert after["version"] == before + 1
    won = case.bodies[winner]
    expected = case.stored({**after, **(won or {})})
    assert case.stored(after) == expected
