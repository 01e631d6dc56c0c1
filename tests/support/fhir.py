"""A clinic with one of every record the FHIR facade emits, made through the use cases
as staff (and a patient's link) would make them; and R4B validation of what it emits.

* ``fhir_clinic(service)`` — two patients (one with an imported identifier), screenings
  (eligible, not eligible, one with a required question unanswered), a withdrawn and an
  active consent (one with an interpreter), a session with pain scores on both sides, an
  adverse event after it, and check-ins as triage JSON (with a temperature) and as an
  aftercare QuestionnaireResponse. Returns the ids.
* ``validate_r4b(resource)`` — the resource parsed by the ``fhir.resources`` R4B model of
  its type (raises when it is not valid FHIR R4B).
"""

from __future__ import annotations

import base64
import importlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from needlewise.interop.fhir.canonical import (
    AFTERCARE_ID,
    UCUM,
    YES_NO_SYSTEM,
    questionnaire_url,
)
from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.persistence.models import PatientIdentifier
from needlewise.security.roles import Role
from needlewise.services import (
    adverse_events,
    check_ins,
    consents,
    patients,
    sessions,
    stored_screenings,
)
from needlewise.services.consent_models import ConsentIn, WithdrawIn
from needlewise.services.providers import ProviderIn, create_provider
from support.service import Clinic, Service
from support.treatment import signature_png

IDENTIFIER_SYSTEM = "urn:oid:2.16.840.1.113883.19.5"


@dataclass(frozen=True)
class FhirClinic:
    """The ids of the records :func:`fhir_clinic` made."""

    patient: int
    other: int
    screenings: list[int]
    consents: list[int]
    session: int
    adverse_event: int
    check_ins: list[int]


@dataclass(frozen=True)
class FhirWorld:
    """A service holding :func:`fhir_clinic`'s records, and a second clinic (with one
    patient) whose records must never show."""

    service: Service
    records: FhirClinic
    other_clinic: Clinic
    other_patient: int


def validate_r4b(resource: dict[str, Any]) -> None:
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    getattr(module, kind).model_validate(resource)


def aftercare_response(service: Service) -> dict[str, Any]:
    kb = service.runtime.kb
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{questionnaire_url(kb, AFTERCARE_ID)}|{kb.version}",
        "item": [
            {
                "linkId": "group.self-care",
                "item": [
                    {
                        "linkId": "symptom.soreness",
                        "answer": [{"valueCoding": {"system": YES_NO_SYSTEM, "code": "Y"}}],
                    }
                ],
            },
            {
                "linkId": "temperature",
                "answer": [
                    {
                        "valueQuantity": {
                            "value": 99.1,
                            "unit": "°F",
                            "system": UCUM,
                            "code": "[degF]",
                        }
                    }
                ],
            },
        ],
    }


def fhir_clinic(service: Service) -> FhirClinic:
    runtime = service.runtime
    kb = runtime.kb
    front, clinician, admin = (
        service.actor(r) for r in (Role.front_desk, Role.clinician, Role.admin)
    )

    def patient(given: str) -> int:
        return patients.create_patient(
            runtime,
            front,
            patients.PatientIn(
                given_name=given, family_name="Synthetic", sex="female", phone="555-0142",
                birth_date=datetime(1980, 2, 3, tzinfo=UTC).date(),
            ),
        ).id  # fmt: skip

    first, other = patient("Fhira"), patient("Other")
    with runtime.db.write() as tx:
        tx.add(
            PatientIdentifier(
                clinic_id=service.clinic_id, patient_id=first, system=IDENTIFIER_SYSTEM,
                value="MRN-0001", created_by="system",
            )
        )  # fmt: skip
    screenings = [
        stored_screenings.create_screening(runtime, front, first, answered_intake(kb)).id,
        stored_screenings.create_screening(
            runtime, front, first, answered_intake(kb, {"contraindication.needle-fear"})
        ).id,
    ]
    unanswered = answered_intake(kb)
    unanswered["item"] = unanswered["item"][1:]  # the first (required) question left out
    screenings.append(stored_screenings.create_screening(runtime, front, other, unanswered).id)
    screenings.append(  # a clinician clears the not-eligible decision
        stored_screenings.create_screening(runtime, clinician, first, answered_intake(kb)).id
    )
    png = base64.b64encode(signature_png()).decode()

    def consent(patient_id: int, interpreter: bool) -> int:
        return consents.sign_consent(
            runtime,
            clinician,
            patient_id,
            ConsentIn(
                language="en", typed_name="Fhira Synthetic", signature_png=png,
                signer_role="patient", signer_name="Fhira Synthetic",
                interpreter_name="Synthetic Interpreter" if interpreter else None,
                interpreter_language="Spanish" if interpreter else None,
            ),
        ).id  # fmt: skip

    withdrawn = consent(first, interpreter=False)
    consents.withdraw_consent(runtime, clinician, withdrawn, 1, WithdrawIn(reason="changed mind"))
    active = consent(first, interpreter=True)
    provider = create_provider(
        runtime,
        admin,
        ProviderIn(
            name="Synthetic PT", profession="pt", licence_state="CO", licence_number="SYN-9"
        ),
    ).id
    session = sessions.create_session(
        runtime,
        clinician,
        first,
        sessions.SessionIn(
            provider_id=provider,
            performed_at=datetime.now(UTC) - timedelta(hours=5),
            muscles=[
                sessions.SessionMuscleIn(muscle="muscle.upper-trapezius", laterality="left", needle_count=2),
                sessions.SessionMuscleIn(muscle="muscle.infraspinatus", laterality="bilateral", needle_count=1),
            ],
            technique="pistoning", electrical_stimulation=False, response="local twitch response",
            notes="Tolerated well.", pain_before=6, pain_after=3,
        ),
    ).id  # fmt: skip
    event = adverse_events.create_adverse_event(
        runtime,
        clinician,
        first,
        adverse_events.AdverseEventIn(
            session_id=session, event_type="risk.bruising", severity="mild", serious=False,
            outcome="resolving", onset_at=datetime.now(UTC) - timedelta(hours=4),
        ),
    ).id  # fmt: skip
    check_in_ids = [
        check_ins.record_check_in(
            runtime, front, first,
            {"symptoms": ["symptom.soreness"], "temperature": {"value": 37.2, "unit": "Cel"},
             "text": "a bit sore", "language": "en"},
            session_id=session,
        ).id,
        check_ins.record_check_in(runtime, front, first, aftercare_response(service)).id,
        check_ins.record_check_in(
            runtime, front, first, {"symptoms": ["symptom.chest-pain"], "language": "en"}
        ).id,
    ]  # fmt: skip
    return FhirClinic(first, other, screenings, [withdrawn, active], session, event, check_in_ids)
