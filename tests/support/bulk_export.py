"""Synthetic FHIR Bulk Data exports for the bulk-screen tests (synthetic patients only).

``write_export(folder, files)`` writes each file as NDJSON: a list item that is ``bytes``
is written as it is (to make a broken line), anything else is JSON-encoded on one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

EPILEPSY_SCT = "84757009"  # SNOMED CT Epilepsy (in the Seizure Disorder value set)
HYPERTENSION_SCT = "38341003"  # no rule
WARFARIN_RXNORM = "855332"  # Warfarin Sodium 5 MG Oral Tablet (anticoagulant)


def patient(pid: str, birth_date: str = "1980-04-02") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth_date}


def condition(
    cid: str, pid: str, code: str, display: str, status: str = "active"
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": {"coding": [{"system": SCT, "code": code, "display": display}]},
    }


def medication_request(mid: str, pid: str, code: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": display}],
            "text": display,
        },
    }


def write_export(folder: Path, files: dict[str, list[Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        with (folder / name).open("wb") as handle:
            for line in lines:
                raw = line if isinstance(line, bytes) else json.dumps(line).encode()
                handle.write(raw + b"\n")
    return folder
