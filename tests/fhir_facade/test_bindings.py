"""The required code bindings of FHIR R4 that the fhir.resources models do not check
(``gender: "xyz"`` passes them): every coded element we emit holds a code of its value
set, for every resource of the test clinic, the CapabilityStatement and a search Bundle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from needlewise.interop.fhir.emit.adverse_event import OUTCOMES
from needlewise.security.roles import Role
from needlewise.services import fhir_read
from needlewise.services.fhir_read import READ_TYPES
from support.fhir import FhirWorld

EVENT_STATUS = {
    "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
    "entered-in-error", "unknown",
}  # fmt: skip
OBSERVATION_STATUS = {
    "registered", "preliminary", "final", "amended", "corrected", "cancelled",
    "entered-in-error", "unknown",
}  # fmt: skip

#: (resource type, element path, the codes its required value set holds) — from the R4
#: specification's value sets (hl7.org/fhir/R4/valueset-*.html)
BINDINGS: list[tuple[str, str, set[str]]] = [
    ("Patient", "gender", {"male", "female", "other", "unknown"}),
    ("Procedure", "status", EVENT_STATUS),
    ("AdverseEvent", "actuality", {"actual", "potential"}),
    ("AdverseEvent", "severity.coding.code", {"mild", "moderate", "severe"}),
    (
        "AdverseEvent",
        "outcome.coding.code",
        {"resolved", "recovering", "ongoing", "resolvedWithSequelae", "fatal", "unknown"},
    ),
    ("AdverseEvent", "seriousness.coding.code", {"serious", "non-serious"}),
    ("DetectedIssue", "severity", {"high", "moderate", "low"}),
    ("DetectedIssue", "status", OBSERVATION_STATUS),
    ("Communication", "status", EVENT_STATUS),
    ("Communication", "priority", {"routine", "urgent", "asap", "stat"}),
    ("Consent", "status", {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}),
    ("Consent", "scope.coding.code", {"adr", "research", "patient-privacy", "treatment"}),
    ("Consent", "provision.type", {"deny", "permit"}),
    ("Observation", "status", OBSERVATION_STATUS),
    (
        "QuestionnaireResponse",
        "status",
        {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
    ),
    ("Questionnaire", "status", {"draft", "active", "retired", "unknown"}),
    ("Provenance", "signature.sigFormat", {"image/png"}),
]  # fmt: skip

CAPABILITY: list[tuple[str, set[str]]] = [
    ("status", {"draft", "active", "retired", "unknown"}),
    ("kind", {"instance", "capability", "requirements"}),
    ("fhirVersion", {"4.0.1"}),
    ("rest.mode", {"client", "server"}),
    (
        "rest.resource.interaction.code",
        {"read", "vread", "update", "patch", "delete", "history-instance", "history-type",
         "create", "search-type"},
    ),
    ("rest.interaction.code", {"transaction", "batch", "search-system", "history-system"}),
    (
        "rest.resource.searchParam.type",
        {"number", "date", "string", "token", "reference", "composite", "quantity", "uri",
         "special"},
    ),
    ("rest.resource.versioning", {"no-version", "versioned", "versioned-update"}),
    ("rest.resource.conditionalRead", {"not-supported", "modified-since", "not-match", "full-support"}),
    ("rest.resource.conditionalDelete", {"not-supported", "single", "multiple"}),
]  # fmt: skip


def values(node: Any, path: str) -> Iterator[Any]:
    """Every value at the dotted ``path`` under ``node``, looking through lists."""
    if isinstance(node, list):
        for item in node:
            yield from values(item, path)
        return
    if not path:
        yield node
        return
    head, _, rest = path.partition(".")
    if isinstance(node, dict) and head in node:
        yield from values(node[head], rest)


@pytest.fixture(scope="module")
def emitted(fhir_world: FhirWorld) -> dict[str, list[dict[str, Any]]]:
    service = fhir_world.service
    actor = service.actor(Role.admin)
    return {
        name: fhir_read.search(
            service.runtime, actor, name, [("_count", "100")], "https://x"
        ).resources
        for name in READ_TYPES
    }


@pytest.mark.parametrize(("kind", "path", "codes"), BINDINGS, ids=lambda v: str(v)[:40])
def test_required_binding(
    emitted: dict[str, list[dict[str, Any]]], kind: str, path: str, codes: set[str]
) -> None:
    found = [value for resource in emitted[kind] for value in values(resource, path)]
    assert found, f"the test clinic emits no {kind}.{path}: the binding is not exercised"
    assert set(found) <= codes, set(found) - codes


def test_every_stored_adverse_event_outcome_has_a_fhir_code() -> None:
    from needlewise.services.adverse_events import Outcome

    assert set(Outcome.__args__) == set(OUTCOMES)  # type: ignore[attr-defined]


def test_the_capability_statement_bindings(fhir_world: FhirWorld) -> None:
    statement = fhir_world.service.client.get("/fhir/metadata").json()
    for path, codes in CAPABILITY:
        found = set(values(statement, path))
        assert found, path
        assert found <= codes, (path, found - codes)
    bundle = fhir_world.service.client.get(
        "/fhir/Patient", headers=fhir_world.service.headers(Role.admin)
    ).json()
    assert bundle["type"] == "searchset"
    assert set(values(bundle, "entry.search.mode")) == {"match"}
    assert set(values(bundle, "link.relation")) <= {"self", "next", "previous"}
