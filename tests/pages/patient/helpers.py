"""Helpers of the patient-link page tests: a patient and a fresh link made through the
JSON API as the front desk would, and the answers a patient would pick."""

from __future__ import annotations

import base64

import httpx

from needlewise.security.roles import Role
from support.pages import hidden_value, soup
from support.service import Service
from support.treatment import make_patient, signature_png


def new_link(service: Service, patient_id: int, purpose: str, session_id: int | None = None) -> str:
    """A new link's token (front desk, through the API)."""
    body: dict[str, object] = {"purpose": purpose}
    if session_id is not None:
        body["session_id"] = session_id
    made = service.client.post(
        f"/api/patients/{patient_id}/links", json=body, headers=service.headers(Role.front_desk)
    )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def patient_with_link(
    service: Service, purpose: str, language: str = "en", given: str = "Alice"
) -> tuple[int, str]:
    patient_id = make_patient(service, given=given, language=language)
    return patient_id, new_link(service, patient_id, purpose)


def safe_intake_answers(page: httpx.Response) -> dict[str, str]:
    """Every asked question of the intake page answered "No" (follow-ups left out)."""
    answers: dict[str, str] = {}
    for fieldset in soup(page).select("fieldset.question"):
        if fieldset.get("data-follows"):
            continue
        answers[str(fieldset["data-link-id"])] = "N"
    return answers


def signature_data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png(40, 20)).decode()


def right_consent_answers(service: Service) -> dict[str, str]:
    """The right answer of each understanding question of the knowledge base."""
    return {
        f"check-{q.key}": next(c.key for c in q.choices if c.correct)
        for q in service.runtime.kb.data.consent.comprehension
    }


def consent_form(page: httpx.Response, service: Service, name: str) -> dict[str, str]:
    """What a patient who understood and signed posts from the consent page."""
    return {
        "form_token": hidden_value(page, "form_token"),
        "language": hidden_value(page, "language"),
        "text_sha256": hidden_value(page, "text_sha256"),
        "signer_role": "patient",
        "typed_name": name,
        "signature": signature_data_url(),
        **right_consent_answers(service),
    }
