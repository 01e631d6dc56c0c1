"""Issue 9, finding 13: ``Idempotency-Key`` on every create, on both databases.

For each create (staff check-ins, screenings, consents, sessions, adverse events, and the
patient-link check-in, intake and consent):

* the same key and body twice: the same status and body (and ETag), one record;
* the same key with another body: 422 naming the header, nothing more stored;
* an unusable key: 422 naming the header, nothing stored;
* the same key sent ten times at once: one record, ten equal answers.

Keys belong to their caller: two clinics (or two links) using one key each get their
own record, never the other's answer. A replay is audited as a read.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.persistence.models import (
    AdverseEvent,
    AuditEntry,
    CheckIn,
    Consent,
    Screening,
    TreatmentSession,
)
from needlewise.security.roles import Role
from support.http import asgi_client
from support.service import Service, seed_clinic
from support.treatment import make_patient, ready_patient, session_body, signature_png

HEADER = "Idempotency-Key"


def signing(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "language": "en",
        "typed_name": name,
        "signature_png": base64.b64encode(signature_png()).decode(),
        "signer_name": name,
        **fields,
    }


def link(service: Service, patient: int, purpose: str) -> str:
    response = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": purpose},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


@dataclass
class Create:
    """One create route made ready on a service: where to send, as whom, two different
    bodies, and the table its records land in (``patient``: whose rows to count)."""

    url: str
    headers: dict[str, str]
    body: Any
    other: Any
    table: Any
    patient: int


def staff_check_in(service: Service) -> Create:
    patient = make_patient(service)
    return Create(
        f"/api/patients/{patient}/check-ins",
        service.headers(Role.front_desk),
        {"symptoms": ["symptom.soreness"], "hours_since_treatment": 5.0},
        {"symptoms": ["symptom.soreness"], "hours_since_treatment": 6.0},
        CheckIn,
        patient,
    )


def link_check_in(service: Service) -> Create:
    patient = make_patient(service)
    return Create(
        f"/api/p/{link(service, patient, 'check-in')}/check-in",
        {},
        {"symptoms": ["symptom.soreness"], "hours_since_treatment": 5.0},
        {"symptoms": ["symptom.soreness"], "hours_since_treatment": 6.0},
        CheckIn,
        patient,
    )


def screening(service: Service) -> Create:
    patient = make_patient(service)
    kb = service.runtime.kb
    return Create(
        f"/api/patients/{patient}/screenings?electrical_stimulation=false",
        service.headers(Role.front_desk),
        answered_intake(kb),
        answered_intake(kb, {"contraindication.needle-fear"}),
        Screening,
        patient,
    )


def consent(service: Service) -> Create:
    patient = make_patient(service)
    return Create(
        f"/api/patients/{patient}/consents",
        service.headers(Role.clinician),
        signing("Alice Synthetic", signer_role="patient"),
        signing("Alicia Synthetic", signer_role="patient"),
        Consent,
        patient,
    )


def session(service: Service) -> Create:
    patient, provider = ready_patient(service)
    return Create(
        f"/api/patients/{patient}/sessions",
        service.headers(Role.clinician),
        session_body(provider, notes="first"),
        session_body(provider, notes="second"),
        TreatmentSession,
        patient,
    )


def adverse_event(service: Service) -> Create:
    patient = make_patient(service)
    event = {
        "event_type": "risk.bruising",
        "severity": "mild",
        "serious": False,
        "outcome": "resolving",
        "onset_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
    }
    return Create(
        f"/api/patients/{patient}/adverse-events",
        service.headers(Role.clinician),
        {**event, "description": "Synthetic bruise"},
        {**event, "description": "Synthetic bruise, larger"},
        AdverseEvent,
        patient,
    )


def link_intake(service: Service) -> Create:
    patient = make_patient(service)
    kb = service.runtime.kb
    return Create(
        f"/api/p/{link(service, patient, 'intake')}/intake",
        {},
        answered_intake(kb),
        answered_intake(kb, {"contraindication.needle-fear"}),
        Screening,
        patient,
    )


def link_consent(service: Service) -> Create:
    patient = make_patient(service)
    return Create(
        f"/api/p/{link(service, patient, 'consent')}/consent",
        {},
        signing("Alice Synthetic"),
        signing("Alicia Synthetic"),
        Consent,
        patient,
    )


ROUTES: dict[str, Callable[[Service], Create]] = {
    "staff check-in": staff_check_in,
    "patient-link check-in": link_check_in,
    "screening": screening,
    "consent": consent,
    "session": session,
    "adverse event": adverse_event,
    "patient-link intake": link_intake,
    "patient-link consent": link_consent,
}


def count(service: Service, create: Create) -> int:
    table = create.table
    with service.runtime.db.read() as session:
        return (
            session.scalar(
                select(func.count()).select_from(table).where(table.patient_id == create.patient)
            )
            or 0
        )


def post(service: Service, create: Create, body: Any, key: str) -> httpx.Response:
    return service.client.post(create.url, json=body, headers={**create.headers, HEADER: key})


@pytest.mark.parametrize("route", list(ROUTES))
def test_the_same_key_and_body_get_the_first_answer(service: Service, route: str) -> None:
    create = ROUTES[route](service)
    key = str(uuid.uuid4())
    first = post(service, create, create.body, key)
    assert first.status_code == 201, first.text
    again = post(service, create, create.body, key)
    assert again.status_code == first.status_code, again.text
    assert again.json() == first.json()
    assert again.headers.get("etag") == first.headers.get("etag")
    assert count(service, create) == 1

    other = post(service, create, create.other, key)
    assert other.status_code == 422, other.text
    error = other.json()["error"]
    assert (error["code"], error["location"]) == ("invalid-input", HEADER)
    assert count(service, create) == 1


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize(
    "key", ["", "k" * 256, "two words", "clé"], ids=["empty", "long", "space", "non-ascii"]
)
def test_an_unusable_key_is_refused_and_nothing_stored(
    service: Service, route: str, key: str
) -> None:
    create = ROUTES[route](service)
    sent = service.client.post(
        create.url,
        json=create.body,
        headers={**create.headers, HEADER: key.encode()},
    )
    assert sent.status_code == 422, sent.text
    assert sent.json()["error"]["location"] == HEADER
    assert count(service, create) == 0


@pytest.mark.parametrize(
    "route", ["staff check-in", "patient-link check-in", "screening", "session"]
)
def test_simultaneous_requests_with_one_key_create_one_record(service: Service, route: str) -> None:
    create = ROUTES[route](service)
    key = str(uuid.uuid4())

    async def send() -> list[httpx.Response]:
        async with asgi_client(service.app) as client:
            headers = {**create.headers, HEADER: key}
            return await asyncio.gather(
                *(client.post(create.url, json=create.body, headers=headers) for _ in range(10))
            )

    responses = asyncio.run(send())
    assert [r.status_code for r in responses] == [201] * 10, [r.text[:200] for r in responses]
    assert len({r.content for r in responses}) == 1
    assert count(service, create) == 1


def test_two_clinics_using_one_key_each_get_their_own_record(service: Service) -> None:
    ours = staff_check_in(service)
    key = "shared-key-0001"
    first = post(service, ours, ours.body, key)
    assert first.status_code == 201

    other = seed_clinic(service.runtime, "Other Synthetic Clinic", domain="other.example")
    theirs_headers = other.headers(Role.front_desk)
    patient = service.client.post(
        "/api/patients",
        json={"given_name": "Other", "family_name": "Synthetic"},
        headers=theirs_headers,
    ).json()["id"]
    for body in (ours.body, ours.other):  # the same or another body: never our answer
        theirs = service.client.post(
            f"/api/patients/{patient}/check-ins",
            json=body,
            headers={**theirs_headers, HEADER: key},
        )
        if body is ours.body:
            assert theirs.status_code == 201, theirs.text
            assert theirs.json()["patient_id"] == patient
            assert theirs.json()["id"] != first.json()["id"]
        else:  # their own key now names their own first request
            assert theirs.status_code == 422
    assert count(service, ours) == 1


def test_two_links_using_one_key_each_get_their_own_record(service: Service) -> None:
    one, two = link_check_in(service), link_check_in(service)
    key = "link-key-0001"
    first = post(service, one, one.body, key)
    second = post(service, two, two.body, key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert (count(service, one), count(service, two)) == (1, 1)


def test_a_replay_is_audited_as_a_read(service: Service) -> None:
    create = screening(service)
    key = str(uuid.uuid4())
    first = post(service, create, create.body, key)
    post(service, create, create.body, key)
    with service.runtime.db.read() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(
                AuditEntry.resource_type == "screening",
                AuditEntry.resource_id == str(first.json()["id"]),
            )
            .order_by(AuditEntry.id)
        ).all()
    assert actions == ["create", "read"]


def test_a_request_without_a_key_is_unchanged(service: Service) -> None:
    """No header, no idempotency: two sends are two records (staff check-ins are never
    collapsed)."""
    create = staff_check_in(service)
    for _ in range(2):
        sent = service.client.post(create.url, json=create.body, headers=create.headers)
        assert sent.status_code == 201
    assert count(service, create) == 2
