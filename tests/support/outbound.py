"""Outbound-message rows for the worker's tests, written directly to the database (the
"sched" and "escalation" use cases make them in production)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from needlewise.persistence.models.aftercare import OutboundMessage
from needlewise.persistence.models.clinical import Patient, PatientLink
from needlewise.services.runtime import Runtime

#: a fixed past moment: every row made with it is due at any test's "now"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_numbers = count(1)


def add_patient(
    runtime: Runtime, clinic_id: int, email: str | None = "pat@example.org", language: str = "en"
) -> tuple[int, int]:
    """A synthetic patient with an email address and a check-in link: (patient, link)."""
    with runtime.db.write() as session:
        patient = Patient(
            clinic_id=clinic_id,
            given_name="Zelda",
            family_name="Synthetic",
            preferred_language=language,
            email=email,
            phone="555-0199",
        )
        session.add(patient)
        session.flush()
        link = PatientLink(
            patient_id=patient.id,
            purpose="check-in",
            created_by="system",
            expires_at=T0 + timedelta(days=30),
        )
        session.add(link)
        session.flush()
        return patient.id, link.id


def add_message(
    runtime: Runtime,
    clinic_id: int,
    patient_id: int | None = None,
    link_id: int | None = None,
    **values: Any,
) -> int:
    """One ``outbound_messages`` row (a due check-in email unless ``values`` say else)."""
    number = next(_numbers)
    row: dict[str, Any] = {
        "clinic_id": clinic_id,
        "patient_id": patient_id,
        "link_id": link_id,
        "kind": "check-in",
        "channel": "email",
        "language": "en",
        "due_at": T0,
        "state": "scheduled",
        "idempotency_key": f"test:{number}:{datetime.now(UTC).timestamp()}",
        "params": {"rule": "aftercare.check-in-24h", "hours_after": 24, "thoracic": False},
        **values,
    }
    with runtime.db.write() as session:
        message = OutboundMessage(**row)
        session.add(message)
        session.flush()
        return message.id


def message(runtime: Runtime, message_id: int) -> OutboundMessage:
    with runtime.db.read() as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row
