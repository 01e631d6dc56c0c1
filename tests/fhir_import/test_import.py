"""Importing FHIR R4 into a clinic's records (services/fhir_import.py), on SQLite and
PostgreSQL: what is created, matched and updated; idempotency; every bad entry named
with its path; nothing half-written; the audit entries."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select

from needlewise.errors import Forbidden, InputError
from needlewise.persistence.models import AuditEntry, ClinicalRecord, Patient, PatientIdentifier
from needlewise.security.roles import Role
from needlewise.services.fhir_import import ImportRefused, ImportSummary, import_document
from support.fhir_records import (
    SYSTEM,
    bundle,
    condition,
    counts,
    medication,
    patient,
    snapshot,
    warfarin_request,
)
from support.service import Service

JSON = dict[str, Any]


def run(service: Service, document: Any, **options: Any) -> ImportSummary:
    return import_document(service.runtime, service.actor(Role.clinician), document, **options)


def refusal(service: Service, document: Any, **options: Any) -> list[tuple[str, str]]:
    """The (path, problem) list of a refused import, after checking nothing was written."""
    before = snapshot(service.runtime)
    with pytest.raises(ImportRefused) as caught:
        run(service, document, **options)
    assert snapshot(service.runtime) == before, "a refused import changed stored data"
    return [(p.where, p.problem) for p in caught.value.problems]


def stored(service: Service) -> list[tuple[int, str, str]]:
    with service.runtime.db.read() as tx:
        rows = tx.execute(
            select(
                ClinicalRecord.patient_id, ClinicalRecord.resource_type, ClinicalRecord.identity
            ).order_by(ClinicalRecord.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_bundle_creates_the_patient_with_its_fields_identifiers_and_records(
    service: Service,
) -> None:
    person = patient(
        "p1",
        "MRN-1",
        telecom=[
            {"system": "email", "value": "robin@example.org"},
            {"system": "phone", "value": "555-0101"},
        ],
        address=[{"line": ["1 Synthetic Way"], "city": "Denver", "state": "CO"}],
        communication=[
            {"language": {"coding": [{"code": "fr"}]}},
            {"language": {"coding": [{"code": "es-MX"}]}, "preferred": True},
        ],
    )
    person["identifier"].append({"system": "urn:other", "value": "O-7"})
    person["identifier"].append({"value": "no system: not stored"})
    summary = run(
        service, bundle(person, condition("c1", "Patient/p1"), warfarin_request("m1", "Patient/p1"))
    )
    assert (summary.patients_created, summary.patients_matched) == (1, 0)
    assert {k: v.created for k, v in summary.records.items()} == {
        "Condition": 1,
        "MedicationRequest": 1,
    }
    pid = summary.entries[0].patient_id
    assert [e.outcome for e in summary.entries] == ["created"] * 3
    with service.runtime.db.read() as tx:
        row = tx.get(Patient, pid)
        assert row is not None
        assert row.clinic_id == service.clinic_id
        assert (row.given_name, row.family_name, str(row.birth_date), row.sex) == (
            "Robin Q",
            "Synthetic",
            "1980-04-02",
            "female",
        )
        assert (row.email, row.phone, row.preferred_language) == (
            "robin@example.org",
            "555-0101",
            "es",
        )
        assert row.address == "1 Synthetic Way, Denver, CO"
        idents = set(tx.execute(select(PatientIdentifier.system, PatientIdentifier.value)))
    assert idents == {(SYSTEM, "MRN-1"), ("urn:other", "O-7")}
    assert stored(service) == [
        (pid, "Condition", "Condition/c1"),
        (pid, "MedicationRequest", "MedicationRequest/m1"),
    ]


def test_importing_twice_creates_nothing_new(service: Service) -> None:
    document = bundle(
        patient("p1", "MRN-1"),
        condition("c1", "Patient/p1"),
        {**condition("c2", "Patient/p1"), "identifier": [{"system": "urn:ehr", "value": "C-2"}]},
    )
    run(service, document)
    before = counts(service.runtime)
    again = run(service, copy.deepcopy(document))
    assert (again.patients_created, again.patients_matched) == (0, 1)
    assert again.records["Condition"].model_dump() == {"created": 0, "updated": 0, "unchanged": 2}
    after = counts(service.runtime)
    # only the audit log grows (the import and the patient it matched are recorded)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    assert [i for _, _, i in stored(service)] == ["Condition/c1", "urn:ehr|C-2"]


def test_a_changed_record_is_updated_in_place(service: Service) -> None:
    run(service, bundle(patient("p1", "MRN-1"), condition("c1", "Patient/p1")))
    with service.runtime.db.read() as tx:
        first_id = tx.scalar(select(ClinicalRecord.id))
    changed = condition("c1", "Patient/p1", status="resolved")
    summary = run(service, bundle(patient("p1", "MRN-1"), changed))
    assert summary.records["Condition"].updated == 1
    with service.runtime.db.read() as tx:
        rows = tx.scalars(select(ClinicalRecord)).all()
    assert [(r.id, r.resource["clinicalStatus"]["coding"][0]["code"]) for r in rows] == [
        (first_id, "resolved")
    ]


def test_a_matched_patient_keeps_the_clinics_demographics_and_gains_new_identifiers(
    service: Service,
) -> None:
    run(service, bundle(patient("p1", "MRN-1")))
    renamed = patient("p1", "MRN-1", name=[{"family": "Other", "given": ["Name"]}])
    renamed["identifier"].append({"system": "urn:second", "value": "S-1"})
    summary = run(service, bundle(renamed))
    assert summary.patients_matched == 1
    with service.runtime.db.read() as tx:
        names = tx.execute(select(Patient.given_name, Patient.family_name)).all()
        systems = sorted(tx.scalars(select(PatientIdentifier.system)))
    assert [tuple(n) for n in names] == [("Robin Q", "Synthetic")]
    assert systems == sorted([SYSTEM, "urn:second"])


def test_records_may_refer_to_a_stored_patient_by_identifier(service: Service) -> None:
    first = run(service, bundle(patient("p1", "MRN-1")))
    pid = first.entries[0].patient_id
    reference = f"Patient?identifier={SYSTEM}|MRN-1"
    summary = run(service, bundle(condition("c9", reference), kind="batch"))
    assert summary.records["Condition"].created == 1
    assert stored(service) == [(pid, "Condition", "Condition/c9")]
    # a bare resource works the same way
    bare = run(service, warfarin_request("m9", reference))
    assert bare.entries[0].index is None
    assert bare.entries[0].patient_id == pid


def test_a_medication_in_the_bundle_is_kept_inside_the_request(service: Service) -> None:
    request = warfarin_request("m1", "Patient/p1")
    del request["medicationCodeableConcept"]
    request["medicationReference"] = {"reference": "Medication/warf"}
    summary = run(service, bundle(patient("p1", "MRN-1"), medication("warf"), request))
    assert summary.skipped == {"Medication": 1}
    with service.runtime.db.read() as tx:
        resource = tx.scalar(select(ClinicalRecord.resource))
    assert resource is not None
    assert resource["medicationReference"] == {"reference": "#warf"}
    assert resource["contained"][0]["code"]["coding"][0]["code"] == "11289"


def test_other_resource_types_are_skipped_and_listed_or_refused(service: Service) -> None:
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {}}
    document = bundle(patient("p1", "MRN-1"), encounter)
    assert refusal(service, document, skip_unsupported=False) == [
        (
            "$.entry[1].resource.resourceType",
            "Encounter is not imported; send Patient, AllergyIntolerance, Condition, "
            "MedicationRequest, MedicationStatement, Observation, Procedure (and Medication "
            "they refer to)",
        )
    ]
    summary = run(service, document)
    assert summary.skipped == {"Encounter": 1}
    assert summary.entries[1].outcome == "skipped"


def test_a_malformed_bundle_names_every_bad_entry_and_writes_nothing(service: Service) -> None:
    run(service, bundle(patient("keep", "MRN-0")))  # stored data the refusal must not touch
    twin = patient("p2", "MRN-1")
    document = bundle(
        patient("p1", "MRN-1"),
        condition("c1", "Patient/p1"),
        {**condition("c2", "Patient/p1"), "onsetDateTime": "2020-13-45"},  # invalid date
        condition("c3", "Patient/nobody"),  # dangling reference
        {"resourceType": "Condition", "id": "c4", "subject": 7},  # wrong type
        twin,  # the same identifier as entry 0
        {**patient("p3", "MRN-3"), "birthDate": "yesterday"},
    )
    document["entry"].insert(2, "not an entry")  # a bad entry in the middle
    problems = refusal(service, document)
    assert problems == [
        ("$.entry[2]", "expected an entry object, found a string"),
        (
            "$.entry[3].resource.onsetDateTime",
            "not a valid FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or with a time)",
        ),
        (
            "$.entry[4].resource.subject.reference",
            "refers to a patient not in this bundle; refer to a Patient of the bundle, or to "
            "a stored patient as Patient?identifier=system|value",
        ),
        ("$.entry[5].resource.subject", "expected an object"),
        (
            "$.entry[6].resource.identifier",
            f"an identifier (system {SYSTEM}) is also on the Patient at $.entry[0].resource: "
            "two patients cannot share one",
        ),
        (
            "$.entry[7].resource.birthDate",
            "not a valid FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or with a time)",
        ),
    ]
    for _, problem in problems:  # never the values sent
        assert "2020-13-45" not in problem
        assert "yesterday" not in problem
        assert "MRN-1" not in problem


def test_identifiers_of_two_stored_patients_on_one_patient_are_a_conflict(
    service: Service,
) -> None:
    run(service, bundle(patient("a", "MRN-A")))
    run(service, bundle(patient("b", "MRN-B")))
    both = patient("ab", "MRN-A")
    both["identifier"].append({"system": SYSTEM, "value": "MRN-B"})
    before = snapshot(service.runtime)
    with pytest.raises(ImportRefused) as caught:
        run(service, bundle(both))
    assert snapshot(service.runtime) == before
    assert caught.value.status == 409
    [problem] = caught.value.problems
    assert problem.where == "$.entry[0].resource.identifier"
    assert problem.conflict
    assert "2 different stored patients" in problem.problem


def test_unknown_conditional_reference_and_records_without_identity(service: Service) -> None:
    anonymous = condition("x", "Patient/p1")
    del anonymous["id"]
    document = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": patient("p1", "MRN-1")},
            {"resource": anonymous},
            {"resource": condition("c", f"Patient?identifier={SYSTEM}|nobody")},
            {"resource": {**patient("p2", "X"), "identifier": []}},
        ],
    }
    assert refusal(service, document) == [
        (
            "$.entry[1].resource",
            "a Condition to import needs an identifier (system and value) or an id, so that a "
            "second import finds the same record",
        ),
        (
            "$.entry[2].resource.subject.reference",
            "no patient of this clinic or bundle has this identifier",
        ),
        (
            "$.entry[3].resource.identifier",
            "a Patient to import needs an identifier with a system and a value, so that a "
            "second import finds the same patient",
        ),
    ]


@pytest.mark.parametrize(
    ("document", "where", "words"),
    [
        ([], "$", "expected a FHIR resource"),
        ({"resourceType": "Bundle", "type": "searchset"}, "$.type", "import takes a Bundle"),
        ({"type": "collection"}, "$.resourceType", "resourceType is missing"),
    ],
)
def test_documents_that_are_not_importable(
    service: Service, document: Any, where: str, words: str
) -> None:
    before = snapshot(service.runtime)
    with pytest.raises(InputError) as caught:
        run(service, document)
    assert caught.value.where == where
    assert words in caught.value.problem
    assert snapshot(service.runtime) == before


def test_front_desk_may_not_import(service: Service) -> None:
    with pytest.raises(Forbidden):
        import_document(service.runtime, service.actor(Role.front_desk), bundle())


def test_the_import_is_audited(service: Service) -> None:
    with service.runtime.db.read() as tx:
        mark = tx.scalar(select(func.max(AuditEntry.id))) or 0
    summary = run(service, bundle(patient("p1", "MRN-1"), condition("c1", "Patient/p1")))
    pid = summary.entries[0].patient_id
    record = summary.entries[1].record_id
    run(service, bundle(patient("p1", "MRN-1"), condition("c1", "Patient/p1", status="resolved")))
    with service.runtime.db.read() as tx:
        rows = tx.execute(
            select(
                AuditEntry.actor,
                AuditEntry.action,
                AuditEntry.resource_type,
                AuditEntry.resource_id,
                AuditEntry.patient_id,
            )
            .where(AuditEntry.id > mark)
            .order_by(AuditEntry.id)
        ).all()
    actor = service.clinic.ref(Role.clinician)
    assert [tuple(r) for r in rows] == [
        (actor, "create", "patient", str(pid), pid),
        (actor, "create", "clinical-record", str(record), pid),
        (actor, "import", "fhir-bundle", None, None),
        (actor, "match", "patient", str(pid), pid),
        (actor, "update", "clinical-record", str(record), pid),
        (actor, "import", "fhir-bundle", None, None),
    ]
