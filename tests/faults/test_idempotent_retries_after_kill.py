"""Issue 9, finding 13: idempotent retries after a kill -9, on both databases.

A real server (uvicorn in a subprocess) takes a burst of creates — check-ins through
group commit, screenings through the ORM — each with its own ``Idempotency-Key`` and a
body that names it. The server is SIGKILLed mid-burst: some requests were committed and
answered, some committed but never answered, some never reached the database. A new
server starts on the same database and every key sent is retried with its body: each
retry is answered 201, with the first answer where the client got one, and every key
ends up as exactly one record (before the fix: one more record per committed retry).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from needlewise.config import Settings
from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import CheckIn, Screening
from needlewise.security.roles import Role
from needlewise.services.patients import PatientIn, create_patient
from needlewise.services.runtime import Runtime
from support.server import Server
from support.service import seed_clinic, settings_for
from support.waiting import wait_until_async

WRITERS = 8
ENOUGH = 120  # answered creates before the kill


def seed(database_url: str, valuesets_dir: Path) -> tuple[str, list[int]]:
    """A seeded clinic and WRITERS patients: (a clinician's API token, patient ids)."""
    runtime = Runtime.build(settings_for(database_url, valuesets_dir))
    clinic = seed_clinic(runtime)
    actor = clinic.actor(Role.clinician)
    ids = [
        create_patient(runtime, actor, PatientIn(given_name=f"K{i}", family_name="Synthetic")).id
        for i in range(WRITERS)
    ]
    runtime.db.dispose()
    return clinic.tokens[Role.clinician], ids


def request_for(number: int, patient: int, kb: KnowledgeBase) -> tuple[str, Any]:
    """(url, body) of the ``number``-th create; the body names the number."""
    if number % 4 == 3:  # every fourth: a screening (ORM path)
        body = {**answered_intake(kb), "id": f"qr-{number}"}
        return f"/api/patients/{patient}/screenings?electrical_stimulation=false", body
    body = {"symptoms": ["symptom.soreness"], "hours_since_treatment": number / 10}
    return f"/api/patients/{patient}/check-ins", body


def stored(database_url: str) -> tuple[list[float], list[str]]:
    """Hours of every stored check-in and ids of every stored screening's response."""
    runtime = Runtime.build(Settings(database_url=database_url, secret_key="t"))
    with runtime.db.read() as session:
        hours = [a["hours_since_treatment"] for a in session.scalars(select(CheckIn.answers))]
        inputs = session.scalars(select(Screening.inputs)).all()
    runtime.db.dispose()
    ids = []
    for doc in inputs:  # the response as sent, or inside the Bundle screened
        resources = [e["resource"] for e in doc.get("entry", [])] if "entry" in doc else [doc]
        ids += [r["id"] for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    return hours, ids


def test_retried_keys_after_a_kill_yield_one_record_each(
    database_url: str, valuesets_dir: Path, kb: KnowledgeBase
) -> None:
    token, patients = seed(database_url, valuesets_dir)
    headers = {"authorization": f"Bearer {token}"}
    sent: dict[str, tuple[str, Any]] = {}  # key -> (url, body)
    answered: dict[str, httpx.Response] = {}
    counter = iter(range(1_000_000))
    server = Server(database_url, valuesets_dir)

    async def writer(client: httpx.AsyncClient, patient: int) -> None:
        while len(answered) < ENOUGH * 10:  # in practice until the kill below
            number = next(counter)
            key = str(uuid.uuid4())
            url, body = request_for(number, patient, kb)
            sent[key] = (url, body)
            try:
                response = await client.post(
                    url, json=body, headers={**headers, "Idempotency-Key": key}
                )
            except httpx.HTTPError:
                return  # the server is gone
            assert response.status_code == 201, response.text[:300]
            answered[key] = response

    async def burst() -> None:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            tasks = [asyncio.create_task(writer(client, patient)) for patient in patients]
            try:
                await wait_until_async(
                    lambda: len(answered) >= ENOUGH or all(task.done() for task in tasks),
                    f"{ENOUGH} answered creates from {WRITERS} writers",
                    within=60,
                )
            finally:
                server.kill()  # SIGKILL while the writers are mid-request
            await asyncio.gather(*tasks)

    try:
        asyncio.run(burst())
    finally:
        server.stop()
    assert len(answered) >= ENOUGH
    assert len(sent) > len(answered)  # some were in flight at the kill

    restarted = Server(database_url, valuesets_dir)
    try:
        with httpx.Client(base_url=restarted.base, timeout=30) as client:
            retried = {
                key: client.post(url, json=body, headers={**headers, "Idempotency-Key": key})
                for key, (url, body) in sent.items()
            }
    finally:
        restarted.stop()

    assert {key: r.status_code for key, r in retried.items() if r.status_code != 201} == {}
    for key, first in answered.items():
        assert retried[key].json() == first.json(), key  # the first answer, again
    hours, screened = stored(database_url)
    expected_hours = sorted(
        body["hours_since_treatment"] for url, body in sent.values() if url.endswith("check-ins")
    )
    expected_ids = sorted(body["id"] for url, body in sent.values() if "screenings" in url)
    assert sorted(hours) == expected_hours  # every key exactly once: none lost, none twice
    assert sorted(screened) == expected_ids
