"""Fixtures of the FHIR facade tests.

* ``fhir_world`` — one service per module and backend (SQLite, PostgreSQL) holding a
  clinic with every kind of record (``support.fhir.fhir_clinic``) and a second clinic
  (``other_clinic``) whose records must never show.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from needlewise.security.roles import Role
from needlewise.services import patients
from support.fhir import FhirWorld, fhir_clinic
from support.service import make_service, seed_clinic, settings_for


@pytest.fixture(scope="module")
def fhir_world(module_database_url: str, valuesets_dir: Path) -> Iterator[FhirWorld]:
    with make_service(settings_for(module_database_url, valuesets_dir)) as service:
        records = fhir_clinic(service)
        other = seed_clinic(service.runtime, "Other Synthetic Clinic", "other.example")
        other_patient = patients.create_patient(
            service.runtime,
            other.actor(Role.front_desk),
            patients.PatientIn(given_name="Elsewhere", family_name="Synthetic"),
        ).id
        yield FhirWorld(service, records, other, other_patient)
