"""CDS Hooks use cases (services/cds_hooks.py) on real databases (SQLite and PostgreSQL).

The sample patients of the conformance folder are sent as prefetch, split into the keys
our discovery publishes (support.cds). Expected cards come from what the sample files hold
(see tests/conformance/test_fhir_examples.py): Aleta and Emory have an active seizure
disorder (relative: warning), Fannie is a child (relative: warning), the US Core example
patient is pregnant (relative: warning); none sent an intake, so every screen also has
the "screening incomplete" warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from needlewise.errors import InputError, NotFound, PreconditionFailed
from needlewise.persistence.models import AuditEntry, CdsCard, UsedJwtId
from needlewise.persistence.models.interop import PatientIdentifier
from needlewise.security.roles import Role
from needlewise.services.cds_hooks import discovery
from needlewise.services.patients import PatientIn, create_patient
from support import cds
from support.cds import JSON, DictFetch, NoFetch
from support.cds_env import (
    BASE,
    BOOK,
    CHILD,
    EPILEPSY,
    PREGNANCY,
    SELECT,
    SIGN,
    VIEW,
    CdsEnv,
    answer,
    count,
    new_clinic,
    rules_of,
    select_body,
    synthea,
)


@pytest.fixture
def service(database_url: str, valuesets_dir: Path) -> Iterator[CdsEnv]:
    yield from CdsEnv.fresh(database_url, valuesets_dir)


# ---------------------------------------------------------------- sample patients


@pytest.mark.parametrize(
    ("stem", "relative"),
    [
        ("Aleta_Wintheiser", [EPILEPSY]),
        ("Emory_Kreiger", [EPILEPSY]),
        ("Fannie_Waelchi", [CHILD]),
        ("Trey_Gibson", []),
        ("Derek_Brekke", []),
    ],
)
def test_order_select_screens_the_sample_patients(
    service: CdsEnv, conformance_dir: Path, stem: str, relative: list[str]
) -> None:
    patient_id, prefetch = synthea(conformance_dir, stem)
    caller = cds.caller(service.clinic_id)
    body = select_body(patient_id, prefetch)
    response = answer(service, SELECT, body, caller=caller)
    indicators = [c["indicator"] for c in response["cards"]]
    assert indicators == ["warning"] * (1 + bool(relative))  # findings, then incomplete
    assert rules_of(response, "warning") == relative
    assert response["cards"][-1]["summary"].startswith("Dry-needling screening incomplete")
    assert "critical" not in indicators  # no sample has an absolute contraindication
    with service.runtime.db.read() as tx:
        rows = tx.scalars(select(CdsCard).order_by(CdsCard.id)).all()
        assert [r.uuid for r in rows] == [c["uuid"] for c in response["cards"]]
        assert {(r.hook, r.hook_instance, r.service_id, r.client) for r in rows} == {
            ("order-select", body["hookInstance"], SELECT, caller.client)
        }
        assert rows[0].rules == relative or relative == []
        assert tx.scalar(select(func.count()).select_from(UsedJwtId)) == 1
        entry = tx.scalars(select(AuditEntry).where(AuditEntry.action == "cds-hook")).one()
        assert entry.resource_id == body["hookInstance"]
        assert entry.clinic_id == service.clinic_id
        assert entry.actor == "cds:https://ehr.example.org"


def test_us_core_pregnant_patient_on_order_sign(service: CdsEnv, conformance_dir: Path) -> None:
    observation = json.loads(
        (conformance_dir / "fhir-r4" / "us-core" / "observation-pregnancy-status.json").read_text()
    )
    prefetch: JSON = dict.fromkeys(cds.KEYS.values())
    prefetch["patient"] = {"resourceType": "Patient", "id": "example", "gender": "female"}
    prefetch["observations"] = cds.searchset([{"resource": observation}])
    orders = [cds.dry_needling_order("dn-9", "example", "20561"), cds.other_order("ct", "example")]
    response = answer(service, SIGN, cds.order_sign("example", prefetch, orders))
    assert rules_of(response, "warning") == [PREGNANCY]
    assert "Observation/pregnancy-status" in response["cards"][0]["detail"]


def test_appointment_book_screens_a_dry_needling_appointment(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Emory_Kreiger")
    response = answer(service, BOOK, cds.appointment_book(patient_id, prefetch))
    assert rules_of(response, "warning") == [EPILEPSY]
    assert all(c.get("suggestions") is None for c in response["cards"])  # nothing to delete


def test_absolute_finding_is_critical_and_suggests_removing_the_draft(
    service: CdsEnv, conformance_dir: Path
) -> None:
    """An intake QuestionnaireResponse in prefetch answering "yes" to needle fear (absolute)."""
    patient_id, prefetch = synthea(conformance_dir, "Trey_Gibson")
    intake = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr-1",
        "questionnaire": "https://needlewise.org/fhir/Questionnaire/needlewise-intake",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "item": [
            {
                "linkId": "contraindication.needle-fear",
                "answer": [
                    {
                        "valueCoding": {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0136",
                            "code": "Y",
                        }
                    }
                ],
            }
        ],
    }
    prefetch["intake"] = cds.searchset([{"resource": intake}])
    response = answer(
        service,
        SIGN,
        cds.order_sign(patient_id, prefetch, [cds.dry_needling_order("dn-1", patient_id)]),
    )
    critical = response["cards"][0]
    assert critical["indicator"] == "critical"
    assert "contraindication.needle-fear" in critical["detail"]
    assert critical["selectionBehavior"] == "at-most-one"
    (action,) = critical["suggestions"][0]["actions"]
    assert action == {
        "type": "delete",
        "description": "Remove the draft dry-needling order ServiceRequest/dn-1",
        "resourceId": "ServiceRequest/dn-1",
    }
    assert {r["display"] for r in critical["overrideReasons"]}  # each with a display


# ---------------------------------------------------------------- nothing to say


def test_no_dry_needling_in_context_gives_no_cards_but_is_recorded(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    body = cds.order_select(
        patient_id, prefetch, [cds.other_order("ct", patient_id)], ["ServiceRequest/ct"]
    )
    fetch = NoFetch()
    assert answer(service, SELECT, body, fetch=fetch) == {"cards": []}
    assert fetch.asked == []
    assert count(service, CdsCard) == 0
    assert count(service, UsedJwtId) == 1  # the JWT is spent all the same


def test_order_select_screens_only_the_selected_orders(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    orders = [cds.dry_needling_order("dn-1", patient_id), cds.other_order("ct", patient_id)]
    body = cds.order_select(patient_id, prefetch, orders, ["ServiceRequest/ct"])
    assert answer(service, SELECT, body) == {"cards": []}


def test_patient_view_screens_only_with_planned_dry_needling(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    quiet = {**prefetch, "dryNeedlingOrders": None, "dryNeedlingAppointments": None}
    assert answer(service, VIEW, cds.patient_view(patient_id, quiet)) == {"cards": []}
    completed = {**cds.dry_needling_order("old", patient_id), "status": "completed"}
    done = {**quiet, "dryNeedlingOrders": cds.searchset([{"resource": completed}])}
    assert answer(service, VIEW, cds.patient_view(patient_id, done)) == {"cards": []}
    active = {**cds.dry_needling_order("dn-2", patient_id), "status": "active"}
    planned = {**quiet, "dryNeedlingOrders": cds.searchset([{"resource": active}])}
    response = answer(service, VIEW, cds.patient_view(patient_id, planned))
    assert rules_of(response, "warning") == [EPILEPSY]
    assert all(c.get("suggestions") is None for c in response["cards"])


# ---------------------------------------------------------------- fetching what is missing


def test_missing_prefetch_is_fetched_from_the_fhir_server(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Emory_Kreiger")
    fetch = DictFetch(
        {
            f"Patient/{patient_id}": prefetch["patient"],
            f"Condition?patient={patient_id}": prefetch["conditions"],
            f"MedicationRequest?patient={patient_id}": prefetch["medicationRequests"],
            f"AllergyIntolerance?patient={patient_id}": prefetch["allergies"],
            f"Observation?patient={patient_id}": prefetch["observations"],
        }
    )
    response = answer(service, SELECT, select_body(patient_id, None), fetch=fetch)
    assert rules_of(response, "warning") == [EPILEPSY]
    assert fetch.asked[:2] == [f"Patient/{patient_id}", f"Condition?patient={patient_id}"]
    detail = response["cards"][0]["detail"]
    assert "Not shared (not checked): procedures, medicationStatements, intake." in detail


def test_without_prefetch_and_no_fetch_it_is_412_and_nothing_is_stored(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, _ = synthea(conformance_dir, "Emory_Kreiger")
    with pytest.raises(PreconditionFailed) as caught:
        answer(service, SELECT, select_body(patient_id, None))
    assert caught.value.status == 412
    assert caught.value.detail["location"] == "$.prefetch.patient"
    assert count(service, UsedJwtId) == 0
    assert count(service, CdsCard) == 0


def test_an_operation_outcome_in_prefetch_counts_as_missing(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Emory_Kreiger")
    prefetch["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    with pytest.raises(PreconditionFailed) as caught:
        answer(service, SELECT, select_body(patient_id, prefetch))
    assert caught.value.detail["location"] == "$.prefetch.conditions"


# ---------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda b: b.update(hook="order-sign"), "$.hook"),
        (lambda b: b.pop("hookInstance"), "$.hookInstance"),
        (lambda b: b.update(hookInstance="123"), "$.hookInstance"),
        (lambda b: b["context"].pop("patientId"), "$.context.patientId"),
        (lambda b: b["context"].pop("draftOrders"), "$.context.draftOrders"),
        (
            lambda b: b.update(fhirAuthorization={"access_token": "t"}),
            "$.fhirAuthorization.token_type",
        ),
        (
            lambda b: b.update(prefetch={**b["prefetch"], "conditions": "Seizure"}),
            "$.prefetch.conditions",
        ),
        (lambda b: b["prefetch"]["patient"].update(id="someone-else"), "$.prefetch.patient.id"),
    ],
)
def test_bad_requests_are_422_at_their_path_and_change_nothing(
    service: CdsEnv, conformance_dir: Path, change: Any, where: str
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Emory_Kreiger")
    body = select_body(patient_id, prefetch)
    change(body)
    with pytest.raises(InputError) as caught:
        answer(service, SELECT, body)
    assert caught.value.where == where
    assert "Seizure" not in str(caught.value)
    assert "someone-else" not in str(caught.value)
    assert count(service, UsedJwtId) == 0
    assert count(service, AuditEntry) == count(service, AuditEntry)  # read twice: stable


def test_a_bad_resource_in_prefetch_is_located_in_the_prefetch(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Emory_Kreiger")
    prefetch["conditions"]["entry"][1]["resource"]["subject"] = "Patient/x"  # not a Reference
    with pytest.raises(InputError) as caught:
        answer(service, SELECT, select_body(patient_id, prefetch))
    assert caught.value.where == "$.prefetch.conditions.entry[1].resource.subject"


def test_unknown_service_is_not_found(service: CdsEnv) -> None:
    with pytest.raises(NotFound):
        answer(service, "no-such-service", {})


# ---------------------------------------------------------------- chart link


def test_chart_link_when_an_identifier_matches_a_patient_of_the_clinic(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Trey_Gibson")
    ours = create_patient(
        service.runtime,
        service.actor(Role.clinician),
        PatientIn(given_name="Trey", family_name="Gibson"),
    )
    with service.runtime.db.write() as tx:
        tx.add(
            PatientIdentifier(
                clinic_id=service.clinic_id,
                patient_id=ours.id,
                system="http://hospital.smarthealthit.org",
                value=patient_id,
                created_by="test",
            )
        )
    response = answer(service, SELECT, select_body(patient_id, prefetch))
    links = [link["url"] for link in response["cards"][0]["links"]]
    assert links == [
        f"{BASE}/fhir/Questionnaire/needlewise-intake",
        f"{BASE}/app/patients/{ours.id}",
    ]
    with service.runtime.db.read() as tx:
        entry = tx.scalars(select(AuditEntry).where(AuditEntry.action == "cds-hook")).one()
        assert entry.patient_id == ours.id


def test_no_chart_link_for_another_clinics_patient(service: CdsEnv, conformance_dir: Path) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Trey_Gibson")
    ours = create_patient(
        service.runtime,
        service.actor(Role.clinician),
        PatientIn(given_name="Trey", family_name="Gibson"),
    )
    with service.runtime.db.write() as tx:
        tx.add(
            PatientIdentifier(
                clinic_id=service.clinic_id,
                patient_id=ours.id,
                system="http://hospital.smarthealthit.org",
                value=patient_id,
                created_by="test",
            )
        )
    other = new_clinic(service.runtime, "Other Clinic")
    response = answer(service, SELECT, select_body(patient_id, prefetch), caller=cds.caller(other))
    assert len(response["cards"][0]["links"]) == 1


# ---------------------------------------------------------------- discovery


def test_discovery_lists_the_four_services_with_their_prefetch(service: CdsEnv) -> None:
    document = discovery(service.runtime.kb)
    hooks = {s["id"]: s["hook"] for s in document["services"]}
    assert hooks == {
        SELECT: "order-select",
        SIGN: "order-sign",
        BOOK: "appointment-book",
        VIEW: "patient-view",
    }
    for item in document["services"]:
        assert item["description"]
        assert item["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert item["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"
    view = next(s for s in document["services"] if s["hook"] == "patient-view")
    assert "dryNeedlingOrders" in view["prefetch"]
    assert "http://www.ama-assn.org/go/cpt|20560" in view["prefetch"]["dryNeedlingOrders"]


def test_patient_view_without_its_order_data_is_412_or_422(
    service: CdsEnv, conformance_dir: Path
) -> None:
    """The keys that say whether dry needling is planned are needed: an OperationOutcome
    (the client could not get them) is 412, never "nothing planned"; a value that is not
    FHIR JSON is 422."""
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    body = cds.patient_view(
        patient_id, {**prefetch, "dryNeedlingOrders": outcome, "dryNeedlingAppointments": None}
    )
    with pytest.raises(PreconditionFailed) as caught:
        answer(service, VIEW, body)
    assert caught.value.detail["location"] == "$.prefetch.dryNeedlingOrders"
    body = cds.patient_view(patient_id, {**prefetch, "dryNeedlingOrders": None})
    with pytest.raises(PreconditionFailed) as caught:  # appointments key left out
        answer(service, VIEW, body)
    assert caught.value.detail["location"] == "$.prefetch.dryNeedlingAppointments"
    body = cds.patient_view(
        patient_id, {**prefetch, "dryNeedlingOrders": "none", "dryNeedlingAppointments": None}
    )
    with pytest.raises(InputError) as refused:
        answer(service, VIEW, body)
    assert refused.value.where == "$.prefetch.dryNeedlingOrders"
    assert count(service, UsedJwtId) == 0


def test_an_order_without_id_counts_as_selected(service: CdsEnv, conformance_dir: Path) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    order = cds.dry_needling_order("x", patient_id)
    del order["id"]
    body = cds.order_select(patient_id, prefetch, [order], ["ServiceRequest/other"])
    assert rules_of(answer(service, SELECT, body), "warning") == [EPILEPSY]
