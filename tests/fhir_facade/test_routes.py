"""The facade's read routes and who may use them: a table written by hand from the JSON
API's permissions (security/roles.py), checked against the app's routes and, for every
resource type and role, against what the facade answers."""

from __future__ import annotations

import pytest

from needlewise.security.roles import Role
from needlewise.web.openapi import api_routes
from support.fhir import FhirWorld
from support.routes import methods

PUBLIC, ANY_STAFF = "public", "any staff (the type decides)"

#: every GET route under /fhir (the write side's POST routes have their own table)
EXPECTED = {
    ("GET", "/fhir/metadata"): PUBLIC,
    ("GET", "/fhir/{type_name}"): ANY_STAFF,
    ("GET", "/fhir/{type_name}/{resource_id}"): ANY_STAFF,
}

A, C, F = Role.admin, Role.clinician, Role.front_desk
#: who reads each type (mirrors the JSON API: front desk reads no sessions or adverse
#: events; Observation answers front desk with the check-ins' temperatures only)
READERS: dict[str, set[Role]] = {
    "Questionnaire": {A, C, F},
    "Patient": {A, C, F},
    "QuestionnaireResponse": {A, C, F},
    "Consent": {A, C, F},
    "Provenance": {A, C, F},
    "Procedure": {A, C},
    "AdverseEvent": {A, C},
    "Observation": {A, C, F},
    "DetectedIssue": {A, C, F},
    "Communication": {A, C, F},
}


def test_the_table_covers_the_facades_read_routes(fhir_world: FhirWorld) -> None:
    found = {
        (method, route.path)
        for route in api_routes(fhir_world.service.app.router.routes)
        if route.path.startswith("/fhir")
        for method in methods(route)
        if method == "GET"
    }
    assert found == set(EXPECTED)
    for route in api_routes(fhir_world.service.app.router.routes):
        if route.path.startswith("/fhir") and "GET" in methods(route):
            # the reads' contract is /fhir/metadata (the writes are in the OpenAPI document)
            assert not route.include_in_schema, route.path


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("kind", sorted(READERS))
def test_each_role_reads_what_the_json_api_lets_it(
    fhir_world: FhirWorld, kind: str, role: Role
) -> None:
    client = fhir_world.service.client
    search = client.get(f"/fhir/{kind}", headers=fhir_world.service.headers(role))
    if role in READERS[kind]:
        assert search.status_code == 200, search.text
        assert search.json()["total"] >= 1
        first = search.json()["entry"][0]["resource"]["id"]
        read = client.get(f"/fhir/{kind}/{first}", headers=fhir_world.service.headers(role))
        assert read.status_code == 200, read.text
    else:
        assert search.status_code == 403, search.text
    anonymous = client.get(f"/fhir/{kind}")
    assert anonymous.status_code == 401
