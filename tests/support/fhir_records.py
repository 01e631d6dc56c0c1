"""Synthetic FHIR R4 records for the import tests, and a snapshot of every stored row.

* ``patient(pid, identifier)`` — a Patient with an id, one identifier and a name;
* ``condition(...)``, ``warfarin_request(...)``, ``medication(...)`` — records about a
  patient reference;
* ``bundle(*resources, kind=...)`` — a Bundle whose entries have ``urn:uuid`` fullUrls;
* ``snapshot(runtime)`` — every row of every table (the audit log included), to prove a
  refused import wrote nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from needlewise.persistence.models import Base
from needlewise.services.runtime import Runtime

SYSTEM = "urn:oid:2.16.840.1.113883.19.5.99999.1"  # a synthetic MRN system
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
JSON = dict[str, Any]


def patient(pid: str, identifier: str, **fields: Any) -> JSON:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": SYSTEM, "value": identifier}],
        "name": [{"use": "official", "family": "Synthetic", "given": ["Robin", "Q"]}],
        "birthDate": "1980-04-02",
        "gender": "female",
        **fields,
    }


def condition(rid: str, subject: str, code: str = "38341003", status: str = "active") -> JSON:
    """An active Condition (default: SNOMED 38341003 hypertension, which fires no rule)."""
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "subject": {"reference": subject},
    }


def warfarin_request(rid: str, subject: str, **fields: Any) -> JSON:
    """An active MedicationRequest for warfarin 5 mg (RxNorm 855332): an anticoagulant."""
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "855332", "display": "warfarin 5 MG"}]
        },
        "subject": {"reference": subject},
        **fields,
    }


def medication(rid: str, code: str = "11289") -> JSON:
    """A Medication (default: RxNorm 11289 warfarin)."""
    return {
        "resourceType": "Medication",
        "id": rid,
        "code": {"coding": [{"system": RXNORM, "code": code}]},
    }


def bundle(*resources: JSON, kind: str = "transaction") -> JSON:
    """A Bundle of ``resources``; each entry's fullUrl is a fresh urn:uuid, and in a
    transaction or batch each has a POST request."""
    entries = []
    for resource in resources:
        entry: JSON = {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": resource}
        if kind in ("transaction", "batch"):
            entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of every table, the audit log included, in primary-key order."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with runtime.db.read() as session:
        for table in Base.metadata.sorted_tables:
            key = list(table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in session.execute(select(table).order_by(*key))]
    return rows


def counts(runtime: Runtime) -> dict[str, int]:
    """Rows per table (the audit log included)."""
    return {name: len(rows) for name, rows in snapshot(runtime).items()}
