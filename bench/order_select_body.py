"""The CDS Hooks ``order-select`` request the CDS Hooks benchmark sends (synthetic data).

:func:`order_select_request` builds, from a fixed seed, what an EHR sends when a clinician
selects a dry-needling order: ``context`` with ``userId``, ``patientId``, ``selections``
and ``draftOrders`` (a draft ServiceRequest coded CPT 20560 and a draft MedicationRequest
that is not selected), and a ``prefetch`` of **30 entries** as an EHR answers the
prefetch templates needlewise publishes (same keys): the Patient, and search Bundles of
8 Conditions, 6 MedicationRequests, 3 AllergyIntolerances and 12 Observations, each
resource shaped like an EHR's (identifiers, ``meta``, codings, references, dosage), 31 KB
in all; the other templates (procedures, medication statements, the intake) are
answered ``null`` ("no such data", as the spec says). Some records
fire screening rules (an anticoagulant, a low platelet count), so the service has a card
to answer with.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from screen_bench import CONDITIONS, MEDICATIONS, OBSERVATIONS, _concept

CPT = "http://www.ama-assn.org/go/cpt"
SCT = "http://snomed.info/sct"
FHIR_BASE = "https://ehr.bench.example/fhir/r4"
PATIENT_ID = "bench-patient-1"
SERVICE_REQUEST_ID = "sr-dry-needling-1"
ALLERGENS = [
    (SCT, "91936005", "Allergy to penicillin"),
    (SCT, "300916003", "Latex allergy"),
    (SCT, "418689008", "Allergy to grass pollen"),
]
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _meta(rng: random.Random) -> dict[str, Any]:
    return {
        "versionId": str(rng.randint(1, 9)),
        "lastUpdated": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T09:30:00Z",
    }


def _patient(rng: random.Random) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "meta": _meta(rng),
        "identifier": [
            {
                "use": "usual",
                "type": _coded(f"{TERMINOLOGY}/v2-0203", "MR"),
                "system": "urn:oid:1.2.36.146.595.217.0.1",
                "value": "BENCH-000001",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": "Synthetic", "given": ["Bench", "Test"]}],
        "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}],
        "gender": "female",
        "birthDate": "1968-04-12",
        "address": [
            {"use": "home", "line": ["1 Example Street"], "city": "Springfield", "state": "IL"}
        ],
        "communication": [{"language": _coded("urn:ietf:bcp:47", "en"), "preferred": True}],
    }


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": str(uuid.UUID(int=len(resources) * 7919)),
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": f"{FHIR_BASE}/{resources[0]['resourceType']}"}],
        "entry": [
            {
                "fullUrl": f"{FHIR_BASE}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _common(rng: random.Random, kind: str, number: int) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "id": f"{kind.lower()}-{number}",
        "meta": _meta(rng),
        "identifier": [{"system": f"{FHIR_BASE}/id/{kind}", "value": f"{kind[:3]}-{number}"}],
    }


def _conditions(rng: random.Random, subject: dict[str, str]) -> list[dict[str, Any]]:
    chosen = [(CONDITIONS[7]), *(rng.choice(CONDITIONS) for _ in range(7))]  # + anticoagulation
    return [
        _common(rng, "Condition", number)
        | {
            "clinicalStatus": _coded(f"{TERMINOLOGY}/condition-clinical", "active"),
            "verificationStatus": _coded(f"{TERMINOLOGY}/condition-ver-status", "confirmed"),
            "category": [_coded(f"{TERMINOLOGY}/condition-category", "problem-list-item")],
            "code": _concept(system, code, display),
            "subject": subject,
            "encounter": {"reference": f"Encounter/enc-{rng.randint(100, 999)}"},
            "onsetDateTime": f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-15",
            "recordedDate": f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-16",
            "recorder": {"reference": "Practitioner/pr-bench-1", "display": "Dr Bench"},
        }
        for number, (system, code, display) in enumerate(chosen, start=1)
    ]


def _medications(rng: random.Random, subject: dict[str, str]) -> list[dict[str, Any]]:
    chosen = [MEDICATIONS[1], *(rng.choice(MEDICATIONS) for _ in range(5))]  # + warfarin
    return [
        _common(rng, "MedicationRequest", number)
        | {
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": _concept(system, code, display),
            "subject": subject,
            "authoredOn": f"20{rng.randint(20, 26)}-{rng.randint(1, 12):02d}-01",
            "requester": {"reference": "Practitioner/pr-bench-1", "display": "Dr Bench"},
            "dosageInstruction": [
                {
                    "sequence": 1,
                    "text": "Take one tablet by mouth once daily",
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "route": _concept(SCT, "26643006", "Oral route"),
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": 1,
                                "unit": "tablet",
                                "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
                                "code": "TAB",
                            }
                        }
                    ],
                }
            ],
        }
        for number, (system, code, display) in enumerate(chosen, start=1)
    ]


def _allergies(rng: random.Random, subject: dict[str, str]) -> list[dict[str, Any]]:
    return [
        _common(rng, "AllergyIntolerance", number)
        | {
            "clinicalStatus": _coded(f"{TERMINOLOGY}/allergyintolerance-clinical", "active"),
            "verificationStatus": _coded(
                f"{TERMINOLOGY}/allergyintolerance-verification", "confirmed"
            ),
            "type": "allergy",
            "category": ["environment" if "Latex" in display else "medication"],
            "criticality": rng.choice(["low", "high"]),
            "code": _concept(system, code, display),
            "patient": subject,
            "recordedDate": f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-20",
        }
        for number, (system, code, display) in enumerate(ALLERGENS, start=1)
    ]


def _observations(rng: random.Random, subject: dict[str, str]) -> list[dict[str, Any]]:
    chosen = [OBSERVATIONS[4], *(rng.choice(OBSERVATIONS) for _ in range(11))]  # + platelets
    resources = []
    for number, (system, code, display) in enumerate(chosen, start=1):
        low_platelets = number == 1
        value = 42.0 if low_platelets else round(rng.uniform(1, 300), 1)
        resources.append(
            _common(rng, "Observation", number)
            | {
                "status": "final",
                "category": [
                    _coded(
                        f"{TERMINOLOGY}/observation-category",
                        "laboratory" if low_platelets else "vital-signs",
                    )
                ],
                "code": _concept(system, code, display),
                "subject": subject,
                "effectiveDateTime": f"2026-{rng.randint(1, 11):02d}-0{rng.randint(1, 9)}T08:00:00Z",
                "valueQuantity": {
                    "value": value,
                    "unit": "1",
                    "system": "http://unitsofmeasure.org",
                    "code": "1",
                },
                "interpretation": [
                    _coded(
                        f"{TERMINOLOGY}/v3-ObservationInterpretation",
                        "L" if low_platelets else rng.choice(["N", "N", "H"]),
                    )
                ],
            }
        )
    return resources


def draft_orders() -> dict[str, Any]:
    """The draft orders of the session: dry needling (CPT 20560, selected) and a refill."""
    subject = {"reference": f"Patient/{PATIENT_ID}"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": SERVICE_REQUEST_ID,
                    "status": "draft",
                    "intent": "proposal",
                    "category": [_concept(SCT, "409063005", "Counseling")],
                    "code": _concept(
                        CPT, "20560", "Needle insertion(s) without injection(s); 1 or 2 muscle(s)"
                    ),
                    "subject": subject,
                    "bodySite": [_concept(SCT, "368209003", "Right upper arm")],
                    "requester": {"reference": "Practitioner/pr-bench-1"},
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "mr-draft-2",
                    "status": "draft",
                    "intent": "order",
                    "medicationCodeableConcept": _concept(*MEDICATIONS[2]),
                    "subject": subject,
                }
            },
        ],
    }


def order_select_request(seed: int = 20261207) -> dict[str, Any]:
    """The whole ``order-select`` request, the same for the same ``seed``."""
    rng = random.Random(seed)
    subject = {"reference": f"Patient/{PATIENT_ID}"}
    prefetch = {
        "patient": _patient(rng),
        "conditions": _searchset(_conditions(rng, subject)),
        "medicationRequests": _searchset(_medications(rng, subject)),
        "allergies": _searchset(_allergies(rng, subject)),
        "observations": _searchset(_observations(rng, subject)),
        # the service's other templates, answered "no such data" as the spec says (null)
        "procedures": None,
        "medicationStatements": None,
        "intake": None,
    }
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "context": {
            "userId": "Practitioner/pr-bench-1",
            "patientId": PATIENT_ID,
            "encounterId": "enc-bench-1",
            "selections": [f"ServiceRequest/{SERVICE_REQUEST_ID}"],
            "draftOrders": draft_orders(),
        },
        "prefetch": prefetch,
    }


def prefetch_entries(request: dict[str, Any]) -> int:
    """How many FHIR resources the request's prefetch holds (single resources and
    search-Bundle entries)."""
    count = 0
    for value in request["prefetch"].values():
        if value is None:
            continue
        if value.get("resourceType") == "Bundle":
            count += len(value.get("entry", []))
        else:
            count += 1
    return count
