"""Helpers for the treatment tests: patients and providers through the API, screenings
and consents as rows (their own services are tested on their own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from conftest import Service
from needlewise.persistence.models import AuditEntry, Consent, Screening
from needlewise.security.roles import Role

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def make_patient(service: Service, given: str = "Alice", language: str = "en") -> int:
    response = service.client.post(
        "/api/patients",
        json={"given_name": given, "family_name": "Synthetic", "preferred_language": language},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    patient_id: int = response.json()["id"]
    return patient_id


def make_provider(service: Service, state: str = "CO", profession: str = "pt") -> int:
    response = service.client.post(
        "/api/providers",
        json={
            "name": f"Synthetic {profession} {state}",
            "profession": profession,
            "licence_state": state,
            "licence_number": "SYN-1",
        },
        headers=service.headers(Role.admin),
    )
    assert response.status_code == 201, response.text
    provider_id: int = response.json()["id"]
    return provider_id


def add_screening(
    service: Service,
    patient_id: int,
    decision: str = "eligible",
    electrical_stimulation: bool | None = None,
    created_at: datetime | None = None,
) -> int:
    stamp = service.runtime.kb.stamp
    with service.runtime.db.write() as session:
        row = Screening(
            patient_id=patient_id,
            decision=decision,
            inputs={"synthetic": True},
            result={"decision": decision, "findings": [], "unanswered": []},
            electrical_stimulation=electrical_stimulation,
            knowledge_version=stamp.version,
            knowledge_sha256=stamp.sha256,
            value_sets_sha256=stamp.value_sets_sha256,
            created_by="system",
            created_at=created_at or datetime.now(UTC),
        )
        session.add(row)
        session.flush()
        return row.id


def add_consent(service: Service, patient_id: int, withdrawn: bool = False) -> int:
    now = datetime.now(UTC)
    with service.runtime.db.write() as session:
        row = Consent(
            patient_id=patient_id,
            text_version="synthetic-1",
            language="en",
            text="Synthetic consent text listing the risks.",
            text_sha256="0" * 64,
            typed_name="Alice Synthetic",
            signature_png=PNG,
            signer_role="patient",
            signer_name="Alice Synthetic",
            signed_at=now - timedelta(days=1),
            withdrawn_at=now if withdrawn else None,
            withdrawal_reason="changed mind" if withdrawn else None,
            created_by="system",
        )
        session.add(row)
        session.flush()
        return row.id


def ready_patient(service: Service, decision: str = "eligible") -> tuple[int, int]:
    """(patient id, provider id): a patient with a screening and a consent, a CO PT."""
    patient_id = make_patient(service)
    add_screening(service, patient_id, decision)
    add_consent(service, patient_id)
    return patient_id, make_provider(service)


MUSCLES = ["upper-trapezius", "levator-scapulae", "infraspinatus", "rhomboids"]


def session_body(provider_id: int, muscles: int = 2, **fields: Any) -> dict[str, Any]:
    performed = datetime.now(UTC) - timedelta(hours=2)
    return {
        "provider_id": provider_id,
        "performed_at": performed.isoformat(),
        "muscles": [
            {"muscle": m, "laterality": "left", "needle_count": 2} for m in MUSCLES[:muscles]
        ],
        "electrical_stimulation": False,
        **fields,
    }


def audit_rows(service: Service, patient_id: int) -> list[tuple[str, str, str, str | None]]:
    with service.runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.patient_id == patient_id).order_by(AuditEntry.id)
        )
        return [(r.actor, r.action, r.resource_type, r.resource_id) for r in rows]


def user_ref(service: Service, role: Role) -> str:
    return f"user:{service.users[role].id}"
