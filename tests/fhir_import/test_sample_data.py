"""The public sample data (conformance folder) imported end to end, and screened from
what was imported: Synthea transaction bundles, the official single-resource examples
and the US Core examples."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from needlewise.persistence.models import ClinicalRecord, Patient
from needlewise.security.roles import Role
from needlewise.services.fhir_import import ImportRefused, import_document
from needlewise.services.stored_screenings import create_screening
from support.fhir_records import SYSTEM, counts, snapshot
from support.service import Service

pytestmark = pytest.mark.conformance
IMPORTED = {
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
}
EMPTY = {"resourceType": "Bundle", "type": "collection", "entry": []}


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_synthea_bundles_import_end_to_end_and_again_add_nothing(
    service: Service, conformance_dir: Path
) -> None:
    files = sorted((conformance_dir / "fhir-r4" / "synthea").glob("*.json"))
    assert len(files) == 11
    actor = service.actor(Role.clinician)
    identifiers = 0
    for path in files:
        document = load(path)
        identifiers += len(document["entry"][0]["resource"]["identifier"])  # all with system
        types = Counter(e["resource"]["resourceType"] for e in document["entry"])
        summary = import_document(service.runtime, actor, document)
        assert (summary.patients_created, summary.patients_matched) == (1, 0), path.name
        assert {k: c.created for k, c in summary.records.items()} == {
            k: n for k, n in types.items() if k in IMPORTED
        }, path.name
        assert summary.skipped == {
            k: n for k, n in sorted(types.items()) if k not in IMPORTED | {"Patient"}
        }
    before = counts(service.runtime)
    assert before["patients"] == 11
    assert before["patient_identifiers"] == identifiers
    for path in files:
        again = import_document(service.runtime, actor, load(path))
        assert (again.patients_created, again.patients_matched) == (0, 1)
        assert all(c.created == c.updated == 0 for c in again.records.values())
    after = counts(service.runtime)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }


def test_synthea_counts_read_from_one_file(service: Service, conformance_dir: Path) -> None:
    """Aleta Wintheiser: 8 Conditions, 5 AllergyIntolerances, 116 Observations, 1
    MedicationRequest, 5 Procedures (counted by hand in the file)."""
    path = (
        conformance_dir
        / "fhir-r4/synthea/Aleta_Wintheiser_58c297c4-d684-4677-8024-01131d93835e.json"
    )
    summary = import_document(service.runtime, service.actor(Role.admin), load(path))
    assert {k: c.created for k, c in summary.records.items()} == {
        "Condition": 8,
        "AllergyIntolerance": 5,
        "Observation": 116,
        "MedicationRequest": 1,
        "Procedure": 5,
    }


def test_an_imported_seizure_disorder_fires_in_the_next_stored_screening(
    service: Service, conformance_dir: Path
) -> None:
    """Aleta has an active Condition 128613002 "Seizure disorder" (in the VSAC seizure
    set): screening an empty Bundle for her fires contraindication.epilepsy from the
    imported record, naming it."""
    path = (
        conformance_dir
        / "fhir-r4/synthea/Aleta_Wintheiser_58c297c4-d684-4677-8024-01131d93835e.json"
    )
    actor = service.actor(Role.clinician)
    summary = import_document(service.runtime, actor, load(path))
    pid = summary.entries[0].patient_id
    assert pid is not None
    stored = create_screening(service.runtime, actor, pid, EMPTY)
    epilepsy = [f for f in stored.result["findings"] if f["rule"] == "contraindication.epilepsy"]
    assert epilepsy, stored.result["findings"]
    assert "Condition/0b32d7c5-581e-45f3-bf8b-22fbbefd7618" in " ".join(epilepsy[0]["evidence"])
    # only records that could fire are added to what is screened: no vital signs
    assert stored.inputs is not None
    screened = [e["resource"] for e in stored.inputs["entry"]]
    assert any(r.get("id") == "0b32d7c5-581e-45f3-bf8b-22fbbefd7618" for r in screened)
    assert all("subject" not in r for r in screened)
    assert not [r for r in screened if r["resourceType"] == "Observation"]


def test_the_official_bundle_transaction_example_is_refused_entry_by_entry(
    service: Service, conformance_dir: Path
) -> None:
    """Bundle-bundle-transaction.json: its Patients carry no identifier, entries 5, 6, 8
    and 9 are DELETE and GET requests (read from the file)."""
    document = load(conformance_dir / "fhir-r4/examples/Bundle-bundle-transaction.json")
    before = snapshot(service.runtime)
    with pytest.raises(ImportRefused) as caught:
        import_document(service.runtime, service.actor(Role.clinician), document)
    assert snapshot(service.runtime) == before
    assert [p.where for p in caught.value.problems] == [
        "$.entry[0].resource.identifier",
        "$.entry[2].resource.identifier",
        "$.entry[4].resource.identifier",
        "$.entry[5].request.method",
        "$.entry[6].request.method",
        "$.entry[8].request.method",
        "$.entry[9].request.method",
    ]


#: the official single-resource examples, in import order -> what happens. They refer to
#: Patient/example, /pat1, /f201 and /mom; the three MedicationRequests share their first
#: identifier (http://www.bmc.nl/portal/prescriptions 12345689), so they are one record
#: by our identity rule: the later two update it.
EXAMPLES = {
    "AllergyIntolerance-example.json": "created",
    "AllergyIntolerance-medication.json": "created",
    "AllergyIntolerance-nkda.json": "created",
    "Condition-example.json": "created",
    "Condition-example2.json": "created",
    "Condition-f201.json": "created",
    "Condition-stroke.json": "created",
    "MedicationRequest-medrx0302.json": "created",
    "MedicationRequest-medrx0308.json": "updated",
    "MedicationRequest-medrx0320.json": "updated",
    "MedicationStatement-example001.json": "created",
    "MedicationStatement-example004.json": "created",
    "Observation-blood-pressure.json": "created",
    "Observation-bmi.json": "created",
    "Observation-body-height.json": "created",
    "Observation-body-temperature.json": "created",
    "Observation-example.json": "created",
    "Observation-f202.json": "created",
    "Observation-heart-rate.json": "created",
    "Observation-respiratory-rate.json": "created",
    "Observation-satO2.json": "created",
    "Observation-vitals-panel.json": "created",
}
US_CORE = [
    "condition-encounter-diagnosis-example1.json",
    "condition-encounter-diagnosis-example2.json",
    "observation-pregnancy-intent.json",
    "observation-pregnancy-status.json",
    "temperature.json",
]


def _holder(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": SYSTEM, "value": f"ex-{pid}"}],
        "name": [{"family": "Example", "given": ["Synthetic"]}],
    }


def _with_patient(resource: dict[str, Any]) -> dict[str, Any]:
    holder: dict[str, Any] = resource.get("subject") or resource["patient"]
    reference = str(holder["reference"])
    holder = _holder(reference.split("/")[-1])
    entries = [{"resource": holder}, {"resource": resource}]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_official_examples_import_one_by_one(service: Service, conformance_dir: Path) -> None:
    folder = conformance_dir / "fhir-r4" / "examples"
    actor = service.actor(Role.clinician)
    for name, outcome in EXAMPLES.items():
        summary = import_document(service.runtime, actor, _with_patient(load(folder / name)))
        assert summary.entries[1].outcome == outcome, name
    with service.runtime.db.read() as tx:
        assert tx.scalar(select(func.count()).select_from(Patient)) == 4  # example pat1 f201 mom
        assert tx.scalar(select(func.count()).select_from(ClinicalRecord)) == len(EXAMPLES) - 2


def test_us_core_examples_import(service: Service, conformance_dir: Path) -> None:
    folder = conformance_dir / "fhir-r4" / "us-core"
    actor = service.actor(Role.clinician)
    for name in US_CORE:
        summary = import_document(service.runtime, actor, _with_patient(load(folder / name)))
        assert summary.entries[1].outcome == "created", name
    with service.runtime.db.read() as tx:
        assert tx.scalar(select(func.count()).select_from(ClinicalRecord)) == len(US_CORE)
