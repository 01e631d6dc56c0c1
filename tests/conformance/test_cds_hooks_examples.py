"""Every JSON example in the conformance folder's ``cds-hooks/`` through our CDS Hooks models.

The table names, for each file, the model it is read with and the expected result: valid,
or refused with the JSON path and the problem. The refusals are the spec violations
MANIFEST.md notes (a card without ``indicator`` or ``source``, an action without
``description``, ``null`` members, a 1.0-era request…) — read from MANIFEST.md and the
files, never computed by the test. A file added to the folder without a row fails the
test, so nothing is skipped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from needlewise.errors import InputError, PreconditionFailed
from needlewise.interop.cds_hooks import contexts, models, prefetch
from support.cds import DictFetch, NoFetch

pytestmark = pytest.mark.conformance

JSON = dict[str, Any]
Problem = tuple[str, str]  # (JSON path, words the message must contain)
CONTEXT = {"userId": "PractitionerRole/123", "patientId": "1288992", "encounterId": "89284"}


@pytest.fixture(scope="module")
def folder(conformance_dir: Path) -> Path:
    return conformance_dir / "cds-hooks"


def _problems(model: type[models.CdsModel], document: Any, prefix: str = "$") -> list[Problem]:
    return [(e.where, e.problem) for e in models.problems(model, document, prefix)]


def request(document: JSON) -> list[Problem]:
    """A full hook call: the request model, then the context of its hook (when we serve
    that hook), then its prefetch values (FHIR JSON or null)."""
    found = _problems(models.CdsRequest, document)
    hook = document.get("hook")
    if not found and hook in contexts.CONTEXTS:
        found = _problems(contexts.CONTEXTS[hook], document["context"], "$.context")
    if not found and "prefetch" in document:
        found = prefetch_data(document)
    return found


def prefetch_data(document: JSON) -> list[Problem]:
    try:
        prefetch.collect(document["prefetch"], NoFetch(), document.get("fhirServer"))
    except (InputError, PreconditionFailed) as exc:
        where = exc.where if isinstance(exc, InputError) else str(exc.detail["location"])
        return [(where, exc.problem if isinstance(exc, InputError) else exc.message)]
    return []


def templates(document: JSON) -> list[Problem]:
    """Prefetch templates: a key -> query map whose tokens we can render."""
    found = _problems(
        models.DiscoveryService, {"hook": "h", "id": "i", "description": "d", **document}
    )
    for key, template in document["prefetch"].items():
        try:
            prefetch.render(template, CONTEXT)
        except prefetch.UnsupportedToken as exc:
            found.append((f"$.prefetch.{key}", str(exc)))
    return found


def context_of(hook: str) -> Callable[[JSON], list[Problem]]:
    def check(document: JSON) -> list[Problem]:
        return _problems(contexts.CONTEXTS[hook], document["context"], "$.context")

    return check


def generic_context(document: JSON) -> list[Problem]:
    """A context of a hook we do not serve (or a spec fragment): a JSON object."""
    return [] if isinstance(document["context"], dict) else [("$.context", "not an object")]


def member(model: type[models.CdsModel], key: str) -> Callable[[JSON], list[Problem]]:
    def check(document: JSON) -> list[Problem]:
        return _problems(model, document[key], f"$.{key}")

    return check


def override_reasons(document: JSON) -> list[Problem]:
    found: list[Problem] = []
    for i, reason in enumerate(document["overrideReasons"]):
        found += _problems(models.OverrideReason, reason, f"$.overrideReasons[{i}]")
    return found


def whole(model: type[models.CdsModel]) -> Callable[[JSON], list[Problem]]:
    return lambda document: _problems(model, document)


def not_cds(document: JSON) -> list[Problem]:
    """JWT material (the door's JWT tests use it), FHIR definitions and an
    OperationOutcome: JSON objects, not CDS Hooks documents."""
    return [] if isinstance(document, dict) else [("$", "not an object")]


OK: list[Problem] = []
MISSING = "required field is missing"
R = models.CdsResponse
#: file -> (reader, expected problems: empty = valid; None = only 3.0 FHIRPath tokens)
TABLE: dict[str, tuple[Callable[[JSON], list[Problem]], list[Problem] | None]] = {
    "action-create.json": (whole(models.Action), OK),
    "action-delete.json": (whole(models.Action), OK),
    "action-update.json": (whole(models.Action), OK),
    "card-override-reasons.json": (override_reasons, OK),
    "card-source.json": (member(models.Source, "source"), OK),
    "discovery-response.json": (whole(models.DiscoveryResponse), OK),
    "extension-discovery-response.json": (whole(models.DiscoveryResponse), OK),
    # patient-view requires patientId: the spec's extension example leaves it out
    "extension-request.json": (request, [("$.context.patientId", MISSING)]),
    "feedback-overridden-with-reason.json": (whole(models.FeedbackRequest), OK),
    "feedback-overridden-without-reason.json": (whole(models.FeedbackRequest), OK),
    "feedback-suggestion-accepted.json": (whole(models.FeedbackRequest), OK),
    "fhir-authorization.json": (member(models.FhirAuthorization, "fhirAuthorization"), OK),
    "hook-context-patient-view-fragment.json": (context_of("patient-view"), OK),
    "hook-definition-context-example.json": (generic_context, OK),
    "hook-patient-view-request.json": (request, OK),
    "hook-prefetch-patient-fragment.json": (templates, OK),
    # "user": "123" is a bare string where FHIR JSON (or null) belongs
    "prefetch-data-example.json": (prefetch_data, [("$.prefetch.user", "found a string")]),
    "prefetch-template-hemoglobin-a1c.json": (templates, OK),
    "prefetch-template-user-read.json": (templates, OK),
    "prefetch-template-user-search.json": (templates, OK),
    "prefetch-templates-example.json": (templates, OK),
    "prefetch-token-context-draftorders.json": (generic_context, OK),
    "prefetch-token-context-medicationrequestid.json": (generic_context, OK),
    "prefetch-token-context-patientid.json": (generic_context, OK),
    "response-autolaunchable-link.json": (whole(R), [("$.cards[0].indicator", MISSING)]),
    "response-cards-links-overridereasons.json": (whole(R), OK),
    "response-empty-cards.json": (whole(R), OK),
    "response-system-actions.json": (whole(R), [("$.systemActions[0].description", MISSING)]),
    "security-jwk-private.json": (not_cds, OK),
    "security-jwks-public.json": (not_cds, OK),
    "security-jwt-header.json": (not_cds, OK),
    "security-jwt-payload.json": (not_cds, OK),
    # ---- ci-build (post-2.0.1 draft)
    "ci-build/prefetch-data-example.json": (prefetch_data, OK),
    "ci-build/prefetch-fhirpath-order-sign-context.json": (context_of("order-sign"), OK),
    # the second page is on the request's fhirServer: without a fetch it cannot be had
    "ci-build/prefetch-pagination-order-sign-request.json": (
        request,
        [("$.prefetch.orders.link", "next page")],
    ),
    "ci-build/prefetch-template-fhirpath-example.json": (
        templates,
        [
            ("$.prefetch.meds", "not a CDS Hooks 2.0 token"),
            ("$.prefetch.prescriber", "not a CDS Hooks 2.0 token"),
            ("$.prefetch.appointments-upcoming", "not a CDS Hooks 2.0 token"),
        ],
    ),
    "ci-build/prefetch-template-fhirpath-graph-traversal.json": (templates, None),
    "ci-build/prefetch-template-fhirpath-relative-dates.json": (templates, None),
    "ci-build/response-412-operationoutcome.json": (not_cds, OK),
    # ---- community docs (many predate 2.0)
    "community-docs/cheat-sheet-discovery-response.json": (whole(models.DiscoveryResponse), OK),
    # "...": "<snipped>" stands in for token_type, expires_in, scope and subject
    "community-docs/cheat-sheet-request.json": (
        request,
        [
            ("$.fhirAuthorization.token_type", MISSING),
            ("$.fhirAuthorization.expires_in", MISSING),
            ("$.fhirAuthorization.scope", MISSING),
            ("$.fhirAuthorization.subject", MISSING),
        ],
    ),
    # the link is a placeholder; without it, the missing selectionBehavior is named
    "community-docs/cheat-sheet-response.json": (
        whole(R),
        [("$.cards[0].links[0].url", MISSING), ("$.cards[0].links[0].type", MISSING)],
    ),
    "community-docs/example-opioid-card.json": (whole(models.Card), [("$.source", MISSING)]),
    # 1.0-era order-sign: "medications" instead of draftOrders
    "community-docs/example-opioid-order-sign-request.json": (
        request,
        [("$.context.draftOrders", MISSING)],
    ),
    "community-docs/example-radiology-order-select-request.json": (request, OK),
    "community-docs/example-radiology-systemaction-response.json": (
        whole(R),
        [("$.systemActions[0].description", MISSING)],
    ),
    "community-docs/quickstart-card.json": (whole(models.Card), [("$.source.url", "null")]),
    "community-docs/quickstart-discovery-response.json": (whole(models.DiscoveryResponse), OK),
    "community-docs/quickstart-patient-view-request.json": (request, OK),
    "community-docs/quickstart-patient-view-response.json": (
        whole(R),
        [("$.cards[0].indicator", "'info', 'warning' or 'critical'")],
    ),
}

for _name in (
    "patient-view-context-1",
    "patient-view-context-2",
    "order-select-context-dstu2",
    "order-select-context-r4",
    "order-select-context-stu3",
    "order-sign-context-dstu2",
    "order-sign-context-r4",
    "order-sign-context-stu3",
    "appointment-book-context-stu3-1",
    "appointment-book-context-stu3-2",
):
    _hook = _name.split("-context")[0]
    TABLE[f"hooks/hook-{_name}.json"] = (context_of(_hook), OK)
for _name in (
    "allergyintolerance-create-context-dstu2",
    "allergyintolerance-create-context-r4",
    "allergyintolerance-create-context-stu3",
    "encounter-discharge-context",
    "encounter-start-context",
    "medication-prescribe-context-dstu2",
    "medication-prescribe-context-stu3",
    "medication-refill-context-dstu2",
    "medication-refill-context-r4",
    "medication-verify-context-dstu2",
    "medication-verify-context-r4",
    "medication-verify-context-stu3",
    "order-dispatch-context-r4",
    "order-review-context-dstu2",
    "order-review-context-stu3",
    "problem-list-item-create-context-dstu2",
    "problem-list-item-create-context-r4",
    "problem-list-item-create-context-stu3",
):
    TABLE[f"hooks/hook-{_name}.json"] = (generic_context, OK)


def load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def test_every_example_has_a_row(folder: Path) -> None:
    files = {
        str(p.relative_to(folder))
        for p in folder.rglob("*.json")
        if p.parent.name != "definitions"  # FHIR definitions: see the next test
    }
    assert files == set(TABLE), (sorted(files - set(TABLE)), sorted(set(TABLE) - files))


def test_definitions_are_fhir_resources(folder: Path) -> None:
    """definitions/ holds FHIR StructureDefinitions, CodeSystems and ValueSets about CDS
    Hooks, not CDS Hooks documents: each is a FHIR resource."""
    for path in (folder / "definitions").glob("*.json"):
        assert load(folder, f"definitions/{path.name}")["resourceType"] in {
            "StructureDefinition",
            "CodeSystem",
            "ValueSet",
        }


@pytest.mark.parametrize("name", sorted(TABLE))
def test_example(folder: Path, name: str) -> None:
    reader, expected = TABLE[name]
    found = reader(load(folder, name))
    if expected is None:  # every template of the file uses 3.0 FHIRPath tokens
        assert found
        assert all("not a CDS Hooks 2.0 token" in p for _, p in found)
        return
    assert [w for w, _ in found] == [w for w, _ in expected], found
    for (_, problem), (_, words) in zip(found, expected, strict=True):
        assert words in problem


def test_cheat_sheet_card_without_selection_behavior(folder: Path) -> None:
    """The only full suggestions card of the sources omits selectionBehavior (required
    with suggestions in 2.0): with its placeholder link taken out, that is what is named."""
    document = load(folder, "community-docs/cheat-sheet-response.json")
    del document["cards"][0]["links"]
    assert _problems(R, document) == [
        ("$.cards[0]", "selectionBehavior is required when a card has suggestions")
    ]
    document["cards"][0]["selectionBehavior"] = "at-most-one"
    assert _problems(R, document) == []


def test_paginated_prefetch_follows_next_on_the_fhir_server(folder: Path) -> None:
    """Prefetch pagination (CI build): the next page is read from the request's
    fhirServer through the fetcher, and its entries join the first page's."""
    document = load(folder, "ci-build/prefetch-pagination-order-sign-request.json")
    first = document["prefetch"]["orders"]
    second = {
        **first,
        "link": [],
        "entry": [{"resource": {**first["entry"][0]["resource"], "id": "p2"}}],
    }
    fetch = DictFetch({"MedicationRequest?patient=1288992&_count=1&_page=2": second})
    bundle, origins = prefetch.collect(document["prefetch"], fetch, document["fhirServer"])
    assert fetch.asked == ["MedicationRequest?patient=1288992&_count=1&_page=2"]
    assert [e["resource"]["id"] for e in bundle["entry"]][-1] == "p2"
    assert len(bundle["entry"]) == 2
    assert origins[0] == "$.prefetch.orders.entry[0]"


def test_refusals_never_echo_values(folder: Path) -> None:
    """A refused example's messages name fields, never what was sent in them."""
    card = load(folder, "community-docs/quickstart-patient-view-response.json")
    (problem,) = models.problems(R, card)
    assert "success" not in problem.problem
    request_doc = load(folder, "hook-patient-view-request.json")
    request_doc["hookInstance"] = "not-a-uuid-SECRET"
    (problem,) = models.problems(models.CdsRequest, request_doc)
    assert problem.where == "$.hookInstance"
    assert "SECRET" not in str(problem)
