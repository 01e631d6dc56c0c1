"""Every resource the facade emits is valid FHIR (R4B models), from the demo clinic's
records and from records made here, and carries the codes the mapping promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from needlewise import demo_history
from needlewise.demo import load_demo
from needlewise.interop.fhir.emit import ids
from needlewise.persistence.models import User
from needlewise.security.roles import Role
from needlewise.services import fhir_read
from needlewise.services.actor import Actor
from needlewise.services.fhir_read import READ_TYPES
from needlewise.services.runtime import Runtime
from support.fhir import IDENTIFIER_SYSTEM, FhirWorld, validate_r4b
from support.service import settings_for

BASE = "https://clinic.example"


def everything(runtime: Runtime, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """Every resource of every type the actor's clinic holds, paged through by search."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name in READ_TYPES:
        resources: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = fhir_read.search(
                runtime, actor, name, [("_count", "100"), ("_offset", str(offset))], BASE
            )
            resources.extend(page.resources)
            offset += 100
            if offset >= page.total:
                break
        found[name] = resources
    return found


def test_the_demo_clinic_emits_valid_r4b(tmp_path: Path, valuesets_dir: Path) -> None:
    runtime = Runtime.build(settings_for(f"sqlite:///{tmp_path / 'demo.sqlite'}", valuesets_dir))
    from needlewise.persistence.migrate import upgrade

    upgrade(runtime.settings.database_url)
    assert load_demo(runtime)
    with runtime.db.read() as tx:
        admin = tx.scalars(select(User).where(User.role == Role.admin.value)).first()
    assert admin is not None
    actor = Actor(
        ref=f"user:{admin.id}", user_id=admin.id, role=Role.admin, clinic_id=admin.clinic_id
    )
    found = everything(runtime, actor)
    counts = {name: len(items) for name, items in found.items()}
    # the demo: 5 patients, 4 intake answers + 2 check-ins, 3 consents, 2 sessions,
    # 1 finding (needle fear), 2 check-ins each with the advice sent back, one outcome
    # score (Ben's NDI baseline); and its past year (demo_history): each history patient
    # screened and consented, its sessions, adverse events and check-ins
    history_check_ins = len(demo_history.CHECK_INS)
    assert counts["Patient"] == 5 + demo_history.PATIENTS
    assert counts["QuestionnaireResponse"] == 6 + demo_history.PATIENTS + history_check_ins
    assert counts["Consent"] == counts["Provenance"] == 3 + demo_history.PATIENTS
    assert counts["Procedure"] == 2 + demo_history.SESSIONS
    assert counts["AdverseEvent"] == demo_history.MINOR_EVENTS + 1
    assert counts["Observation"] == 1
    assert counts["DetectedIssue"] == 1
    assert counts["Communication"] == 2 * (2 + history_check_ins)
    assert counts["Questionnaire"] == 2
    for items in found.values():
        for resource in items:
            validate_r4b(resource)
    runtime.db.dispose()


def test_records_made_here_emit_valid_r4b_with_their_codes(fhir_world: FhirWorld) -> None:
    service, records = fhir_world.service, fhir_world.records
    found = everything(service.runtime, service.actor(Role.admin))
    for items in found.values():
        for resource in items:
            validate_r4b(resource)
    by_id = {r["id"]: r for items in found.values() for r in items}

    patient = by_id[ids.patient(records.patient)]
    assert {"system": IDENTIFIER_SYSTEM, "value": "MRN-0001"} in patient["identifier"]
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1980-02-03"

    procedure = by_id[f"session-{records.session}"]
    assert procedure["status"] == "completed"
    assert procedure["code"]["coding"][0] == {
        "system": "http://www.ama-assn.org/go/cpt",
        "code": "20560",
        "display": procedure["code"]["coding"][0]["display"],
    }
    assert [site["text"] for site in procedure["bodySite"]] == [
        "Upper trapezius, left",
        "Infraspinatus, bilateral",
    ]
    assert procedure["bodySite"][1]["extension"][0]["valueCoding"]["code"] == "bilateral"
    assert procedure["performer"][0]["actor"]["display"] == "Synthetic PT"
    assert procedure["note"][0]["text"] == "Billed as CPT 20560, 1 unit."

    before = by_id[f"session-{records.session}-nprs-before"]
    assert before["valueInteger"] == 6
    assert before["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "72514-3",
        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    }
    assert by_id[f"session-{records.session}-nprs-after"]["valueInteger"] == 3
    first_check_in, as_response, _ = records.check_ins
    temperature = by_id[f"check-in-{first_check_in}-temperature"]
    assert temperature["valueQuantity"]["code"] == "Cel"
    assert "coding" not in temperature["code"]  # no LOINC code for it in the knowledge base
    assert by_id[f"check-in-{as_response}-temperature"]["valueQuantity"]["value"] == 99.1

    withdrawn, active = records.consents
    assert by_id[f"consent-{withdrawn}"]["status"] == "inactive"
    assert by_id[f"consent-{active}"]["status"] == "active"
    assert by_id[f"consent-{active}"]["sourceAttachment"]["url"] == (
        f"{BASE}/app/consents/{active}.pdf"
    )
    assert "verification" in by_id[f"consent-{active}"]
    signature = by_id[f"consent-{active}-signature"]["signature"][0]
    assert signature["sigFormat"] == "image/png"
    assert signature["type"][0]["code"] == "1.2.840.10065.1.12.1.7"
    assert by_id[f"consent-{active}-signature"]["target"] == [
        {"reference": f"Consent/consent-{active}"}
    ]

    event = by_id[f"adverse-event-{records.adverse_event}"]
    assert (
        event["suspectEntity"][0]["instance"]["reference"] == f"Procedure/session-{records.session}"
    )

    eligible, not_eligible, unanswered, _ = records.screenings
    finding = by_id[f"screening-{not_eligible}-finding-1"]
    assert finding["severity"] == "high"
    assert finding["code"]["coding"][0]["code"] == "contraindication.needle-fear"
    assert finding["evidence"][0]["detail"][0]["reference"] == (
        f"QuestionnaireResponse/screening-{not_eligible}"
    )
    assert finding["reference"].startswith("http")
    missing = by_id[f"screening-{unanswered}-unanswered-1"]
    assert missing["severity"] == "moderate"
    assert not any(r.startswith(f"screening-{eligible}-") for r in by_id)

    communications = {r["id"]: r for r in found["Communication"]}
    assert communications[f"check-in-{first_check_in}"]["priority"] == "routine"
    assert communications[f"check-in-{records.check_ins[2]}"]["priority"] == "stat"
    assert communications[f"check-in-{first_check_in}-advice"]["inResponseTo"] == [
        {"reference": f"Communication/check-in-{first_check_in}"}
    ]


@pytest.mark.parametrize("name", READ_TYPES)
def test_every_type_reads_back_each_resource_it_lists(fhir_world: FhirWorld, name: str) -> None:
    service = fhir_world.service
    actor = service.actor(Role.admin)
    listed = fhir_read.search(service.runtime, actor, name, [("_count", "100")], BASE).resources
    assert listed, name
    for resource in listed:
        assert (
            fhir_read.read_resource(service.runtime, actor, name, resource["id"], BASE) == resource
        )
