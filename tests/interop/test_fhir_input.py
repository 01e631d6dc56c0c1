"""FHIR R4 screening input: bad input is refused with a JSON path, edge input is read.

Every refusal asserts an ``InputError`` whose ``where`` is the JSON path of the problem and
whose message names it. The documents are built by the helpers below.
"""

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from needlewise.domain.screening import ScreeningResult
from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.stateless_screening import screen_document

AS_OF = date(2026, 11, 26)
YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
NEEDLE_FEAR = "contraindication.needle-fear"
DIABETES = "contraindication.diabetes"
ANTICOAGULANT = "contraindication.anticoagulant"
P = pytest.param
JSON = dict[str, Any]


def url(kb: KnowledgeBase) -> str:
    return f"{kb.data.meta.canonical_base}/Questionnaire/needlewise-intake"


def answer(word: str) -> JSON:
    return {"valueCoding": {"system": YES_NO, "code": {"yes": "Y", "no": "N"}[word]}}


def all_no(kb: KnowledgeBase, **changed: str) -> list[JSON]:
    """One item per rule, each with its non-firing answer (``changed``: short name -> word)."""
    items = []
    for rule in kb.contraindications:
        word = changed.get(rule.id.removeprefix("contraindication.").replace("-", "_"))
        word = word or ("yes" if rule.fires_on == "no" else "no")
        items.append({"linkId": rule.id, "answer": [answer(word)]})
    return items


def qr(questionnaire: str | None, items: list[Any], **fields: Any) -> JSON:
    resource: JSON = {"resourceType": "QuestionnaireResponse", "id": "q1", "status": "completed"}
    if questionnaire is not None:
        resource["questionnaire"] = questionnaire
    return resource | {"item": items} | fields


def bundle(*resources: JSON, kind: str = "collection", urls: tuple[str, ...] = ()) -> JSON:
    entries: list[JSON] = [{"resource": r} for r in resources]
    for entry, full_url in zip(entries, urls, strict=False):
        entry["fullUrl"] = full_url
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def condition(code: str = "E11.9", subject: str | None = None, rid: str = "c1") -> JSON:
    resource: JSON = {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": ICD10CM, "code": code}]},
    }
    return resource | ({"subject": {"reference": subject}} if subject else {})


def patient(rid: str | None = "y", **fields: Any) -> JSON:
    return {"resourceType": "Patient"} | ({"id": rid} if rid else {}) | fields


def screen(kb: KnowledgeBase, document: object, language: str = "en") -> ScreeningResult:
    return screen_document(
        document, kb, as_of=AS_OF, electrical_stimulation=True, language=language
    )


def fired(result: ScreeningResult) -> set[str]:
    return {f.rule for f in result.findings}


# ---------------------------------------------------------------- refusals

ITEM = NEEDLE_FEAR


def _item(*answers: Any) -> JSON:
    return {"linkId": ITEM, "answer": list(answers)}


#: (document built from the intake URL, expected where, words the message must contain)
BAD_INPUT = [
    P(lambda u: [], "$", "JSON object", id="top-level-list"),
    P(lambda u: "Bundle", "$", "JSON object", id="top-level-string"),
    P(lambda u: {"type": "collection"}, "$.resourceType", "no resourceType", id="resourceType-missing"),
    P(lambda u: patient(), "$.resourceType", "Patient", id="resourceType-Patient"),
    P(lambda u: bundle(kind="history"), "$.type", "history", id="bundle-type-history"),
    P(lambda u: bundle(kind="batch-response"), "$.type", "batch-response", id="bundle-type-batch-response"),
    P(lambda u: {"resourceType": "Bundle", "entry": []}, "$.type", "Bundle.type", id="bundle-type-missing"),
    P(lambda u: {"resourceType": "Bundle", "type": "collection", "entry": {}}, "$.entry", "list", id="entry-not-list"),
    P(lambda u: {"resourceType": "Bundle", "type": "collection", "entry": ["x"]}, "$.entry[0]", "entry", id="entry-not-object"),
    P(lambda u: bundle({"id": "c1", "code": {}}), "$.entry[0].resource", "resourceType", id="resource-without-resourceType"),
    P(lambda u: {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": 7}]}, "$.entry[0].resource", "resource", id="resource-not-object"),
    P(lambda u: bundle(patient("a"), patient("b")), "$.entry[1].resource", "one patient", id="two-patients"),
    P(lambda u: bundle(patient("y"), condition(subject="Patient/x")), "$.entry[1].resource.subject.reference", "Patient/x", id="condition-other-patient"),
    P(lambda u: bundle(condition(subject="Patient/x"), patient("y")), "$.entry[0].resource.subject.reference", "Patient/x", id="condition-other-patient-before-patient"),
    P(lambda u: bundle(patient("y"), {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/x"}}), "$.entry[1].resource.patient.reference", "Patient/x", id="allergy-other-patient"),
    P(lambda u: bundle(patient("y"), qr(u, [], subject={"reference": "Patient/x"})), "$.entry[1].resource.subject.reference", "Patient/x", id="intake-other-patient"),
    P(lambda u: bundle(patient(None), condition(subject="urn:uuid:other"), urls=("urn:uuid:abc",)), "$.entry[1].resource.subject.reference", "urn:uuid:other", id="urn-uuid-other-patient"),
    P(lambda u: bundle(condition(subject="Patient/a"), condition(subject="Patient/b", rid="c2")), "$.entry[1].resource.subject.reference", "2 different patients", id="two-subjects-no-patient"),
    P(lambda u: bundle(condition() | {"code": {"coding": ["E11.9"]}}), "$.entry[0].resource.code.coding[0]", "Coding", id="coding-is-string"),
    P(lambda u: bundle(condition() | {"clinicalStatus": "active"}), "$.entry[0].resource.clinicalStatus", "object", id="clinicalStatus-is-string"),
    P(lambda u: qr("http://example.org/Questionnaire/phq-9", []), "$.questionnaire", "phq-9", id="qr-other-questionnaire"),
    P(lambda u: qr(u, [], status="entered-in-error"), "$.status", "entered-in-error", id="qr-entered-in-error"),
    P(lambda u: bundle(qr(u, [], status="entered-in-error")), "$.entry[0].resource.status", "entered-in-error", id="qr-entered-in-error-in-bundle"),
    P(lambda u: qr(u, [_item(answer("no")), _item(answer("no"))]), "$.item[1]", "twice", id="item-answered-twice"),
    P(lambda u: qr(u, [{"linkId": "g", "item": [_item(answer("no"))]}, _item(answer("no"))]), "$.item[1]", "twice", id="item-twice-nested-and-top"),
    P(lambda u: qr(u, [_item(answer("no"), answer("yes"))]), "$.item[0]", "2 answers", id="item-two-answers"),
    P(lambda u: qr(u, [_item({"valueString": "yes"})]), "$.item[0].answer[0]", ITEM, id="answer-valueString"),
    P(lambda u: qr(u, [_item({"valueCoding": {"system": YES_NO, "code": "maybe"}})]), "$.item[0].answer[0].valueCoding", ITEM, id="answer-unknown-code"),
    P(lambda u: qr(u, [_item({"valueCoding": {"system": "http://snomed.info/sct", "code": "Y"}})]), "$.item[0].answer[0].valueCoding", ITEM, id="answer-Y-wrong-system"),
    P(lambda u: qr(u, [{"answer": [answer("no")]}]), "$.item[0]", "linkId", id="item-without-linkId"),
    P(lambda u: qr(u, [_item({"valueCoding": {"system": YES_NO, "code": ["Y"]}})]), "$.item[0].answer[0].valueCoding.code", "string", id="answer-code-is-list"),
    P(lambda u: qr(u, [_item({"valueCoding": {"system": [YES_NO], "code": "Y"}})]), "$.item[0].answer[0].valueCoding.system", "string", id="answer-system-is-list"),
    P(lambda u: qr(u, [_item("Y")]), "$.item[0].answer[0]", "answer object", id="answer-not-object"),
    P(lambda u: qr(u, [{"linkId": "g", "answer": {}}]), "$.item[0].answer", "list", id="answer-not-list"),
    P(lambda u: qr(u, [{"linkId": "g", "item": "x"}]), "$.item[0].item", "list", id="nested-item-not-list"),
    P(lambda u: qr(u, ["x"]), "$.item[0]", "item object", id="item-not-object"),
    P(lambda u: qr(u, [{"linkId": "g", "answer": [{"valueString": "a", "item": [_item(answer("no")), {"answer": []}]}]}]), "$.item[0].answer[0].item[1]", "linkId", id="item-under-answer-without-linkId"),
    P(lambda u: bundle(patient(birthDate="19xx")), "$.entry[0].resource.birthDate", "19xx", id="birthDate-19xx"),
    P(lambda u: bundle(condition(), patient(birthDate="2009-13")), "$.entry[1].resource.birthDate", "2009-13", id="birthDate-month-13"),
    P(lambda u: bundle(patient(birthDate="2009-00")), "$.entry[0].resource.birthDate", "2009-00", id="birthDate-month-00"),
    P(lambda u: bundle(patient(birthDate="2009-02-30")), "$.entry[0].resource.birthDate", "2009-02-30", id="birthDate-feb-30"),
    P(lambda u: bundle(patient(birthDate="20090101")), "$.entry[0].resource.birthDate", "20090101", id="birthDate-without-dashes"),
    P(lambda u: bundle(qr(u, [_item(answer("no"))]), qr(u, [_item(answer("yes"))])), "$.entry[1].resource", "more than one", id="two-intake-responses"),
    P(lambda u: bundle(qr(u, []), qr(u, [_item(answer("yes"))])), "$.entry[1].resource", "more than one", id="two-intake-responses-first-empty"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "where", "words"), BAD_INPUT)
def test_bad_input_is_refused_with_its_path(
    kb: KnowledgeBase, build: Callable[[str], Any], where: str, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        screen(kb, build(url(kb)))
    assert caught.value.where == where
    assert words in caught.value.problem
    assert str(caught.value) == f"{where}: {caught.value.problem}"


def test_unsupported_language_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as caught:
        screen(kb, qr(url(kb), []), language="fr")
    assert caught.value.where == "$.language"
    assert "fr" in caught.value.problem


# ---------------------------------------------------------------- questionnaire responses


@pytest.mark.parametrize("suffix", ["", "|1.0.0", "|2026.11.0"])
def test_intake_url_with_or_without_version(kb: KnowledgeBase, suffix: str) -> None:
    result = screen(kb, qr(url(kb) + suffix, all_no(kb)))
    assert result.decision == "eligible"


def test_nested_items_are_read(kb: KnowledgeBase) -> None:
    items = all_no(kb, diabetes="yes")
    group = {"linkId": "history", "item": items[:6]}
    carrier = {"linkId": "clinic-consent", "answer": [{"valueBoolean": True, "item": items[6:12]}]}
    result = screen(kb, qr(url(kb), [group, carrier, *items[12:]]))
    assert list(result.unanswered) == []
    assert fired(result) == {DIABETES}
    assert (
        "QuestionnaireResponse/q1 item contraindication.diabetes = yes"
        in result.findings[0].evidence
    )


def test_unknown_link_ids_are_ignored(kb: KnowledgeBase) -> None:
    extra = [
        {"linkId": "clinic-notes", "answer": [{"valueString": "anything"}]},
        {"linkId": "contraindication.not-a-rule", "answer": [{"valueInteger": 3}]},
    ]
    result = screen(kb, qr(url(kb), extra + all_no(kb)))
    assert result.decision == "eligible"


def test_unanswered_item_counts_as_unanswered(kb: KnowledgeBase) -> None:
    items = [i for i in all_no(kb) if i["linkId"] != DIABETES] + [{"linkId": DIABETES}]
    result = screen(kb, qr(url(kb), items))
    assert list(result.unanswered) == [DIABETES]


def test_bundle_combines_intake_and_condition(kb: KnowledgeBase) -> None:
    result = screen(kb, bundle(qr(url(kb), all_no(kb)), condition("E11.9")))
    assert fired(result) == {DIABETES}
    assert list(result.unanswered) == []
    assert any("Condition/c1" in e for e in result.findings[0].evidence)


def test_response_to_another_questionnaire_in_bundle_is_skipped(kb: KnowledgeBase) -> None:
    foreign = qr("http://example.org/Questionnaire/phq-9", [_item(answer("yes"))])
    result = screen(kb, bundle(foreign, qr(url(kb), all_no(kb))))
    assert result.decision == "eligible"


# ---------------------------------------------------------------- one patient


@pytest.mark.parametrize(
    ("patient_url", "reference"),
    [
        P(None, "Patient/y", id="relative"),
        P(None, "http://example.org/fhir/Patient/y", id="absolute"),
        P(None, "Patient/y/_history/3", id="versioned"),
        P("urn:uuid:abc", "urn:uuid:abc", id="urn-uuid"),
        P("http://example.org/fhir/Patient/y", "Patient/y", id="full-url"),
    ],
)
def test_references_to_the_bundle_patient_are_accepted(
    kb: KnowledgeBase, patient_url: str | None, reference: str
) -> None:
    urls = (patient_url,) if patient_url else ()
    document = bundle(patient("y", birthDate="1980-01-01"), condition(subject=reference), urls=urls)
    result = screen(kb, document)
    assert DIABETES in fired(result)
    assert "contraindication.child" not in result.unanswered


def test_same_subject_without_patient_is_accepted(kb: KnowledgeBase) -> None:
    document = bundle(
        condition(subject="Patient/a"), condition("Z79.01", subject="Patient/a", rid="c2")
    )
    assert fired(screen(kb, document)) == {DIABETES, ANTICOAGULANT}


# ---------------------------------------------------------------- bundle types and entries


def test_transaction_entry_without_resource_is_skipped(kb: KnowledgeBase) -> None:
    document = bundle(condition(), kind="transaction")
    document["entry"].insert(0, {"request": {"method": "DELETE", "url": "Patient/234"}})
    assert fired(screen(kb, document)) == {DIABETES}


def test_searchset_with_operation_outcome(kb: KnowledgeBase) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "processing", "diagnostics": "partial"}],
    }
    result = screen(kb, bundle(outcome, condition(), kind="searchset"))
    assert fired(result) == {DIABETES}


@pytest.mark.parametrize("kind", ["collection", "searchset", "transaction", "batch", "document"])
def test_accepted_bundle_types(kb: KnowledgeBase, kind: str) -> None:
    assert fired(screen(kb, bundle(condition(), kind=kind))) == {DIABETES}


def test_unread_resource_types_are_skipped(kb: KnowledgeBase) -> None:
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished"}
    claim = {"resourceType": "Claim", "id": "cl1", "diagnosis": "not even FHIR"}
    assert fired(screen(kb, bundle(encounter, claim, condition()))) == {DIABETES}


# ---------------------------------------------------------------- medicationReference

WARFARIN = {"coding": [{"system": RXNORM, "code": "11289", "display": "warfarin"}]}


def _request(reference: str) -> JSON:
    return {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": reference},
    }


@pytest.mark.parametrize(
    ("reference", "full_url"),
    [
        P("urn:uuid:med-1", "urn:uuid:med-1", id="by-fullUrl-urn"),
        P("Medication/w1", None, id="by-type-and-id"),
        P("Medication/w1", "http://example.org/fhir/Medication/w1", id="by-type-and-id-with-url"),
        P(
            "http://example.org/fhir/Medication/w1",
            "http://example.org/fhir/Medication/w1",
            id="by-absolute-url",
        ),
    ],
)
def test_medication_reference_resolved_in_bundle(
    kb_core: KnowledgeBase, reference: str, full_url: str | None
) -> None:
    medication = {"resourceType": "Medication", "id": "w1", "code": WARFARIN}
    document = bundle(_request(reference), medication)  # the Medication comes after
    if full_url:
        document["entry"][1]["fullUrl"] = full_url
    result = screen(kb_core, document)
    assert fired(result) == {ANTICOAGULANT}
    evidence = " ".join(result.findings[0].evidence)
    assert "MedicationRequest/mr1" in evidence
    assert "11289" in evidence


def test_medication_reference_to_contained_medication(kb_core: KnowledgeBase) -> None:
    # records.py: "Resolves a medicationReference to a Medication resource (from the bundle or contained)"
    request = _request("#w1") | {
        "contained": [{"resourceType": "Medication", "id": "w1", "code": WARFARIN}]
    }
    assert fired(screen(kb_core, bundle(request))) == {ANTICOAGULANT}


def test_unresolved_medication_reference_uses_its_display(kb_core: KnowledgeBase) -> None:
    request = _request("Medication/missing")
    request["medicationReference"]["display"] = "Eliquis 5 MG Oral Tablet"
    assert fired(screen(kb_core, bundle(request))) == {ANTICOAGULANT}


def test_evidence_names_a_resource_without_id(kb: KnowledgeBase) -> None:
    # Bundle-father.json style: entries identified only by a urn:uuid fullUrl, no resource id
    resource = condition()
    del resource["id"]
    result = screen(kb, bundle(resource, urls=("urn:uuid:cond-1",)))
    evidence = " ".join(result.findings[0].evidence)
    assert "urn:uuid:cond-1" in evidence or "$.entry[0]" in evidence
