"""CDS Hooks test helpers: hook requests built from the sample FHIR bundles.

* ``prefetch_from_bundle(bundle)`` — a Synthea-style patient Bundle split into the
  prefetch keys our services publish (one searchset per resource type, as a CDS client
  fills ``Condition?patient=…``); fullUrls are kept, so references still resolve.
* ``order_select(...)``, ``order_sign(...)``, ``appointment_book(...)``,
  ``patient_view(...)`` — requests for our services, with a fresh ``hookInstance``.
* ``dry_needling_order(id)`` / ``other_order(id)`` — draft ServiceRequests.
* ``caller(clinic_id)`` — a :class:`CdsCaller` with a fresh ``jti``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from needlewise.errors import PreconditionFailed
from needlewise.services.cds_caller import CdsCaller

JSON = dict[str, Any]
CPT = "http://www.ama-assn.org/go/cpt"
KEYS = {
    "Condition": "conditions",
    "MedicationRequest": "medicationRequests",
    "AllergyIntolerance": "allergies",
    "Observation": "observations",
    "Procedure": "procedures",
    "MedicationStatement": "medicationStatements",
    "QuestionnaireResponse": "intake",
}


def searchset(entries: list[JSON]) -> JSON:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def prefetch_from_bundle(bundle: JSON) -> tuple[str, JSON]:
    """(patient id, prefetch) from a one-patient Bundle; keys without data are ``null``.

    References to the patient by its ``urn:uuid:`` fullUrl become ``Patient/<id>``, as
    a FHIR server's search results name it (the Patient itself comes from a read)."""
    for entry in bundle.get("entry", []):
        if entry["resource"]["resourceType"] == "Patient" and "fullUrl" in entry:
            text = json.dumps(bundle).replace(
                f'"{entry["fullUrl"]}"', f'"Patient/{entry["resource"]["id"]}"'
            )
            bundle = json.loads(text)
            break
    patient: JSON | None = None
    found: dict[str, list[JSON]] = {key: [] for key in KEYS.values()}
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Patient":
            patient = resource
        elif kind in KEYS:
            item = {"fullUrl": entry["fullUrl"]} if "fullUrl" in entry else {}
            found[KEYS[kind]].append({**item, "resource": resource, "search": {"mode": "match"}})
    assert patient is not None, "the bundle has no Patient"
    prefetch: JSON = {"patient": patient}
    for key, entries in found.items():
        prefetch[key] = searchset(entries) if entries else None
    return str(patient["id"]), prefetch


def dry_needling_order(order_id: str, patient_id: str, code: str = "20560") -> JSON:
    return {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": CPT, "code": code, "display": "Dry needling"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def other_order(order_id: str, patient_id: str) -> JSON:
    return {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "24627-2", "display": "Chest CT"}]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def _request(hook: str, patient_id: str, context: JSON, prefetch: JSON | None) -> JSON:
    body: JSON = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient_id, **context},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def order_select(
    patient_id: str, prefetch: JSON | None, orders: list[JSON], selections: list[str]
) -> JSON:
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }
    return _request(
        "order-select", patient_id, {"selections": selections, "draftOrders": draft}, prefetch
    )


def order_sign(patient_id: str, prefetch: JSON | None, orders: list[JSON]) -> JSON:
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }
    return _request("order-sign", patient_id, {"draftOrders": draft}, prefetch)


def appointment_book(patient_id: str, prefetch: JSON | None, service_code: str = "20561") -> JSON:
    appointment = {
        "resourceType": "Appointment",
        "id": "apt-1",
        "status": "proposed",
        "serviceType": [{"coding": [{"system": CPT, "code": service_code}]}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "needs-action"}
        ],
    }
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": appointment}]}
    return _request("appointment-book", patient_id, {"appointments": bundle}, prefetch)


def patient_view(patient_id: str, prefetch: JSON | None) -> JSON:
    return _request("patient-view", patient_id, {}, prefetch)


def caller(
    clinic_id: int, client: str = "https://ehr.example.org", jti: str | None = None
) -> CdsCaller:
    return CdsCaller(
        client=client,
        clinic_id=clinic_id,
        jti=jti or str(uuid.uuid4()),
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )


class NoFetch:
    """A fetcher for a request without ``fhirServer``: every query is refused (412), and
    the queries asked are kept so a test can check none was needed."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, query: str) -> Any:
        self.asked.append(query)
        raise PreconditionFailed("no fhirServer in the request")


class DictFetch:
    """A fetcher answering from a dict of query prefix -> JSON (a FHIR server stand-in
    for what the door's fetcher returns); other queries are refused (412)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, query: str) -> Any:
        self.asked.append(query)
        for prefix, value in self.answers.items():
            if query.startswith(prefix):
                return value
        raise PreconditionFailed("not on this server")
