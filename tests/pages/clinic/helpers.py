"""Helpers of the clinician page tests: check-ins recorded through the JSON API."""

from __future__ import annotations

from needlewise.security.roles import Role
from support.service import Service

#: a symptom per disposition (the knowledge base's triage tiers)
SYMPTOM_FOR = {
    "emergency": "symptom.chest-pain",
    "call-provider": "symptom.soreness-prolonged",
    "self-care": "symptom.soreness",
}


def add_check_in(service: Service, patient_id: int, disposition: str) -> int:
    """A check-in taken by phone (front desk) that triages to ``disposition``."""
    answer = service.client.post(
        f"/api/patients/{patient_id}/check-ins",
        json={
            "symptoms": [SYMPTOM_FOR[disposition]],
            "hours_since_treatment": 10.0,
            "language": "en",
        },
        headers=service.headers(Role.front_desk),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["disposition"] == disposition, answer.text
    check_in_id: int = answer.json()["id"]
    return check_in_id
