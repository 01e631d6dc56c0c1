"""A real FHIR client (SMART on FHIR's ``fhirclient`` 4.4, R4 models) reading and
searching the facade on a live uvicorn process over loopback, with a bearer API token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fhirclient import client
from fhirclient.models.bundle import Bundle
from fhirclient.models.consent import Consent
from fhirclient.models.detectedissue import DetectedIssue
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.models.procedure import Procedure

from needlewise.security.roles import Role
from support.fhir import FhirWorld
from support.server import Server


@pytest.fixture(scope="module")
def live(fhir_world: FhirWorld, valuesets_dir: Path) -> Iterator[client.FHIRClient]:
    server = Server(fhir_world.service.runtime.settings.database_url, valuesets_dir)
    try:
        smart = client.FHIRClient(
            settings={"app_id": "needlewise-tests", "api_base": f"{server.base}/fhir/"}
        )
        token = fhir_world.service.tokens[Role.clinician]
        smart.server.session.headers["Authorization"] = f"Bearer {token}"
        yield smart
    finally:
        server.stop()


def test_the_client_reads_the_capability_statement(live: client.FHIRClient) -> None:
    live.server.get_capability()
    statement = live.server.capabilityStatement
    assert statement.fhirVersion == "4.0.1"
    assert {r.type for r in statement.rest[0].resource} >= {"Patient", "Procedure", "Consent"}


def test_the_client_reads_resources(live: client.FHIRClient, fhir_world: FhirWorld) -> None:
    records = fhir_world.records
    patient = Patient.read(f"patient-{records.patient}", live.server)
    assert patient.name[0].family == "Synthetic"
    assert patient.gender == "female"
    procedure = Procedure.read(f"session-{records.session}", live.server)
    assert procedure.code.coding[0].code == "20560"
    assert procedure.subject.reference == f"Patient/patient-{records.patient}"
    assert [site.text for site in procedure.bodySite] == [
        "Upper trapezius, left",
        "Infraspinatus, bilateral",
    ]
    consent = Consent.read(f"consent-{records.consents[0]}", live.server)
    assert consent.status == "inactive"


def test_the_client_searches_and_follows_the_paging_links(
    live: client.FHIRClient, fhir_world: FhirWorld
) -> None:
    records = fhir_world.records
    patient = f"Patient/patient-{records.patient}"
    search = Observation.where(struct={"patient": patient, "_count": "1"})
    pages = list(search.perform_iter(live.server))
    assert all(isinstance(page, Bundle) for page in pages)
    found = [entry.resource.id for page in pages for entry in page.entry or []]
    assert len(pages) == pages[0].total == len(found) == len(set(found))
    assert f"session-{records.session}-nprs-before" in found
    issues = list(
        DetectedIssue.where(struct={"patient": patient}).perform_resources_iter(live.server)
    )
    assert {issue.severity for issue in issues} == {"high"}
    assert (
        Procedure.where(struct={"date": "lt2000-01-01"}).perform_iter(live.server).__next__().total
        == 0
    )
