"""Helpers for the treatment tests: patients, providers, screenings and consents, each
made through the API as the staff who would make it."""

from __future__ import annotations

import base64
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from needlewise.interop.fhir.canonical import YES_NO_SYSTEM
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import AuditEntry
from needlewise.security.roles import Role
from support.service import Service


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


#: intake answers (rule id without ``contraindication.`` -> "yes" / "no") that give each
#: decision: none fires; an absolute contraindication; a relative one
ANSWERS_FOR: dict[str, dict[str, str]] = {
    "eligible": {},
    "not-eligible": {"needle-fear": "yes"},
    "review": {"diabetes": "yes"},
}


def intake(kb: KnowledgeBase, **answers: str) -> dict[str, Any]:
    """An intake QuestionnaireResponse answering every question so that no rule fires,
    except ``answers`` (rule id without ``contraindication.`` -> "yes" / "no")."""
    items = []
    for rule in kb.contraindications:
        short = rule.id.removeprefix("contraindication.")
        word = answers.get(short) or ("yes" if rule.fires_on == "no" else "no")
        code = {"yes": "Y", "no": "N"}[word]
        items.append(
            {
                "linkId": rule.id,
                "answer": [{"valueCoding": {"system": YES_NO_SYSTEM, "code": code}}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{kb.data.meta.canonical_base}/Questionnaire/needlewise-intake",
        "item": items,
    }


def signature_png(width: int = 2, height: int = 1) -> bytes:
    """A real (tiny, grey) PNG image, as a signature pad sends it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def consent_body(name: str = "Alice Synthetic", **fields: Any) -> dict[str, Any]:
    """A consent the patient ``name`` signs in English, witnessed by staff."""
    return {
        "language": "en",
        "typed_name": name,
        "signature_png": base64.b64encode(signature_png()).decode(),
        "signer_role": "patient",
        "signer_name": name,
        **fields,
    }


def add_screening(
    service: Service,
    patient_id: int,
    decision: str = "eligible",
    electrical_stimulation: bool | None = None,
) -> int:
    """A screening a clinician enters through the API, with intake answers that give
    ``decision`` (see ``ANSWERS_FOR``); ``electrical_stimulation`` ``None``: plan unknown."""
    query = (
        {} if electrical_stimulation is None else {"electrical_stimulation": electrical_stimulation}
    )
    response = service.client.post(
        f"/api/patients/{patient_id}/screenings",
        params=query,
        json=intake(service.runtime.kb, **ANSWERS_FOR[decision]),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    assert response.json()["decision"] == decision, response.text
    screening_id: int = response.json()["id"]
    return screening_id


def add_consent(service: Service, patient_id: int, withdrawn: bool = False) -> int:
    """A consent signed through the API (a clinician witnessing), withdrawn if asked."""
    clinician = service.headers(Role.clinician)
    signed = service.client.post(
        f"/api/patients/{patient_id}/consents", json=consent_body(), headers=clinician
    )
    assert signed.status_code == 201, signed.text
    consent_id: int = signed.json()["id"]
    if withdrawn:
        done = service.client.post(
            f"/api/consents/{consent_id}/withdraw",
            json={"reason": "changed mind"},
            headers={**clinician, "if-match": signed.headers["etag"]},
        )
        assert done.status_code == 200, done.text
    return consent_id


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
