"""Contraindication screening, table-driven: each row cites the rule id it tests.

Inputs are FHIR R4 JSON built by the small helpers below and screened through
``services.stateless_screening.screen_document`` (the one function every door calls). Expected values
come from contraindications.yaml as read by a person (the RULES table), not from the code.
"""

import json
from datetime import date
from typing import Any

import pytest

from needlewise.domain.screening import Finding, ScreeningResult
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.stateless_screening import screen_document

AS_OF = date(2026, 11, 26)
YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

#: rule id -> (level, answer that fires it), as written in contraindications.yaml
RULES: dict[str, tuple[str, str]] = {
    "contraindication.needle-fear": ("absolute", "yes"),
    "contraindication.skin-infection": ("relative", "yes"),
    "contraindication.immunocompromised": ("relative", "yes"),
    "contraindication.metal-allergy": ("relative", "yes"),
    "contraindication.bleeding-disorder": ("relative", "yes"),
    "contraindication.pregnancy": ("relative", "yes"),
    "contraindication.pregnancy-first-trimester": ("absolute", "yes"),
    "contraindication.unwilling": ("absolute", "no"),
    "contraindication.not-yet-understood": ("relative", "no"),
    "contraindication.prior-needling-reaction": ("absolute", "yes"),
    "contraindication.fainting-history": ("precaution", "yes"),
    "contraindication.acute-illness": ("absolute", "yes"),
    "contraindication.lymphedema": ("absolute", "yes"),
    "contraindication.anticoagulant": ("precaution", "yes"),
    "contraindication.vascular-disease": ("relative", "yes"),
    "contraindication.diabetes": ("relative", "yes"),
    "contraindication.epilepsy": ("relative", "yes"),
    "contraindication.joint-replacement": ("relative", "yes"),
    "contraindication.implanted-device": ("relative", "yes"),
    "contraindication.malignancy": ("relative", "yes"),
    "contraindication.child": ("relative", "yes"),
    "contraindication.lymph-node-removal": ("relative", "yes"),
    "contraindication.heart-valve": ("relative", "yes"),
    "contraindication.implants-in-area": ("precaution", "yes"),
    "contraindication.frailty": ("relative", "yes"),
    "contraindication.low-body-weight": ("precaution", "yes"),
    "contraindication.hyperalgesia": ("relative", "yes"),
    "contraindication.psychological-distress": ("relative", "yes"),
}
#: follow-up question -> (question it follows, answers that open it), from ``asked_if``
FOLLOW_UPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "contraindication.pregnancy-first-trimester": ("contraindication.pregnancy", ("yes", "unsure")),
}
RULE_IDS = list(RULES)
ABSOLUTE = [r for r, (level, _) in RULES.items() if level == "absolute"]
OPPOSITE = {"yes": "no", "no": "yes"}
DEVICE = "contraindication.implanted-device"
ANTICOAGULANT = "contraindication.anticoagulant"
BLEEDING = "contraindication.bleeding-disorder"
PREGNANCY = "contraindication.pregnancy"
CHILD = "contraindication.child"
P = pytest.param
JSON = dict[str, Any]

# ---------------------------------------------------------------- FHIR builders


def coded(word: str) -> JSON:
    if word == "unsure":
        return {"valueCoding": {"system": NULL_FLAVOR, "code": "UNK"}}
    return {"valueCoding": {"system": YES_NO, "code": {"yes": "Y", "no": "N"}[word]}}


def boolean(word: str) -> JSON:
    return {"valueBoolean": word == "yes"}


ANSWER_FORMS = {"valueCoding": coded, "valueBoolean": boolean}


def intake(kb: KnowledgeBase, answers: dict[str, JSON]) -> JSON:
    """An intake QuestionnaireResponse with one item per answered rule."""
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "intake",
        "questionnaire": f"{kb.data.meta.canonical_base}/Questionnaire/needlewise-intake",
        "status": "completed",
        "item": [{"linkId": rule, "answer": [value]} for rule, value in answers.items()],
    }


def clear_answers(*, skip: tuple[str, ...] = (), **changed: str) -> dict[str, JSON]:
    """Every rule answered with its non-firing value, except ``changed`` (short name: word)."""
    words = {rule: OPPOSITE[fires_on] for rule, (_, fires_on) in RULES.items()}
    for short, word in changed.items():
        words["contraindication." + short.replace("_", "-")] = word
    return {rule: coded(word) for rule, word in words.items() if rule not in skip}


def bundle(*resources: JSON) -> JSON:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def concept(system: str, code: str, display: str | None = None) -> JSON:
    return {
        "coding": [{"system": system, "code": code} | ({"display": display} if display else {})]
    }


def status(kind: str, code: str | None) -> JSON:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{kind}", "code": code}]}


def condition(
    code: str, system: str = ICD10CM, clinical: str | None = "active", ver: str | None = None
) -> JSON:
    resource: JSON = {"resourceType": "Condition", "id": "c1", "code": concept(system, code)}
    if clinical:
        resource["clinicalStatus"] = status("condition-clinical", clinical)
    if ver:
        resource["verificationStatus"] = status("condition-ver-status", ver)
    return resource


def allergy(
    code: str, system: str = SNOMED, clinical: str = "active", ver: str | None = None
) -> JSON:
    resource: JSON = {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "code": concept(system, code),
    }
    resource["clinicalStatus"] = status("allergyintolerance-clinical", clinical)
    if ver:
        resource["verificationStatus"] = status("allergyintolerance-verification", ver)
    return resource


def medication(
    code: str,
    kind: str = "MedicationRequest",
    system: str = RXNORM,
    display: str | None = None,
    **fields: Any,
) -> JSON:
    """An active MedicationRequest (or ``kind``); ``fields`` override (``status=None`` drops it)."""
    resource: JSON = {"resourceType": kind, "id": "m1", "status": "active"}
    resource["medicationCodeableConcept"] = concept(system, code, display)
    return {k: v for k, v in (resource | fields).items() if v is not None}


def observation(
    code: str, value: str | None = None, flag: str | None = None, state: str = "final"
) -> JSON:
    resource: JSON = {
        "resourceType": "Observation",
        "id": "o1",
        "status": state,
        "code": concept(LOINC, code),
    }
    if value:
        resource["valueCodeableConcept"] = concept(SNOMED, value)
    if flag:
        resource["interpretation"] = [concept(INTERPRETATION, flag)]
    return resource


def procedure(code: str, state: str = "completed") -> JSON:
    return {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": state,
        "code": concept(SNOMED, code),
    }


def patient(birth: str) -> JSON:
    return {"resourceType": "Patient", "id": "p1", "birthDate": birth}


def screen(
    kb: KnowledgeBase,
    document: JSON,
    es: bool | None = True,
    as_of: date = AS_OF,
    language: str = "en",
) -> ScreeningResult:
    return screen_document(document, kb, electrical_stimulation=es, as_of=as_of, language=language)


def fired(result: ScreeningResult) -> set[str]:
    return {f.rule for f in result.findings}


def finding(result: ScreeningResult, rule: str) -> Finding:
    matches = [f for f in result.findings if f.rule == rule]
    assert len(matches) == 1, f"{rule} did not fire once: {fired(result)}"
    return matches[0]


def code_of(resource: JSON) -> str:
    code: str = (resource.get("code") or resource["medicationCodeableConcept"])["coding"][0]["code"]
    return code


def test_rule_table_matches_knowledge(kb: KnowledgeBase) -> None:
    assert {r.id: (r.level.value, r.fires_on) for r in kb.contraindications} == RULES
    assert all(r.required for r in kb.contraindications)
    follow_ups = {
        r.id: (r.asked_if.rule, tuple(r.asked_if.answers))
        for r in kb.contraindications
        if r.asked_if
    }
    assert follow_ups == FOLLOW_UPS


# ---------------------------------------------------------------- 1. answers, one row per rule


@pytest.mark.parametrize("form", list(ANSWER_FORMS))
@pytest.mark.parametrize("rule", RULE_IDS, ids=RULE_IDS)
def test_firing_answer_fires_rule_as_present(kb: KnowledgeBase, rule: str, form: str) -> None:
    answers = clear_answers()
    answers[rule] = ANSWER_FORMS[form](RULES[rule][1])
    result = screen(kb, intake(kb, answers))
    hit = finding(result, rule)
    assert fired(result) == {rule}
    assert hit.certainty == "present"
    assert hit.level.value == RULES[rule][0]
    assert f"item {rule} = {RULES[rule][1]}" in " ".join(hit.evidence)
    assert result.decision == ("not-eligible" if rule in ABSOLUTE else "review")


@pytest.mark.parametrize("form", list(ANSWER_FORMS))
@pytest.mark.parametrize("rule", RULE_IDS, ids=RULE_IDS)
def test_opposite_answer_does_not_fire(kb: KnowledgeBase, rule: str, form: str) -> None:
    answers = clear_answers()
    answers[rule] = ANSWER_FORMS[form](OPPOSITE[RULES[rule][1]])
    result = screen(kb, intake(kb, answers))
    assert rule not in fired(result)
    assert result.decision == "eligible"


@pytest.mark.parametrize("code", ["UNK", "ASKU"])
@pytest.mark.parametrize("rule", RULE_IDS, ids=RULE_IDS)
def test_not_sure_fires_as_possible_and_needs_review(
    kb: KnowledgeBase, rule: str, code: str
) -> None:
    answers = clear_answers()
    answers[rule] = {"valueCoding": {"system": NULL_FLAVOR, "code": code}}
    result = screen(kb, intake(kb, answers))
    assert fired(result) == {rule}
    assert finding(result, rule).certainty == "possible"
    assert "not sure" in " ".join(finding(result, rule).evidence)
    assert result.decision == "review"
    assert "policy.unsure-answer" in result.policies


# ---------------------------------------------------------------- 2. decision table


def test_all_clear_is_eligible(kb: KnowledgeBase) -> None:
    result = screen(kb, intake(kb, clear_answers()))
    assert result.decision == "eligible"
    assert list(result.unanswered) == []
    assert list(result.findings) == []


@pytest.mark.parametrize("rule", ABSOLUTE, ids=ABSOLUTE)
def test_absolute_rule_present_is_not_eligible(kb: KnowledgeBase, rule: str) -> None:
    answers = clear_answers(diabetes="yes")  # a relative finding beside it changes nothing
    answers[rule] = coded(RULES[rule][1])
    result = screen(kb, intake(kb, answers))
    assert result.decision == "not-eligible"
    assert result.findings[0].rule == rule  # absolute findings come first


ALWAYS_ASKED = [r for r in RULE_IDS if r not in FOLLOW_UPS]


@pytest.mark.parametrize("rule", ALWAYS_ASKED, ids=ALWAYS_ASKED)
def test_missing_required_answer_needs_review(kb: KnowledgeBase, rule: str) -> None:
    result = screen(kb, intake(kb, clear_answers(skip=(rule,))))
    assert result.decision == "review"
    assert list(result.unanswered) == [rule]
    assert list(result.findings) == []
    assert "policy.unanswered-required" in result.policies


def test_empty_intake_lists_every_required_rule(kb: KnowledgeBase) -> None:
    """A follow-up is not listed while the question it follows is itself unanswered."""
    result = screen(kb, intake(kb, {}))
    assert result.decision == "review"
    assert sorted(result.unanswered) == sorted(ALWAYS_ASKED)


TRIMESTER = "contraindication.pregnancy-first-trimester"


#: contraindication.pregnancy-first-trimester is asked only after "pregnant: yes / not sure"
@pytest.mark.parametrize(
    ("pregnant", "asked"),
    [
        P("yes", True, id="trimester-asked-after-pregnant-yes"),
        P("unsure", True, id="trimester-asked-after-pregnant-not-sure"),
        P("no", False, id="trimester-not-asked-after-pregnant-no"),
    ],
)
def test_trimester_follow_up_is_asked_after_pregnancy(
    kb: KnowledgeBase, pregnant: str, asked: bool
) -> None:
    result = screen(kb, intake(kb, clear_answers(skip=(TRIMESTER,), pregnancy=pregnant)))
    assert (TRIMESTER in result.unanswered) is asked
    assert result.decision == ("eligible" if pregnant == "no" else "review")


def test_trimester_not_listed_while_pregnancy_unanswered(kb: KnowledgeBase) -> None:
    result = screen(kb, intake(kb, clear_answers(skip=(TRIMESTER, PREGNANCY))))
    assert list(result.unanswered) == [PREGNANCY]


@pytest.mark.parametrize(
    ("trimester", "decision", "fired_rules"),
    [
        P("yes", "not-eligible", {PREGNANCY, TRIMESTER}, id="pregnant-first-trimester-stops"),
        P("no", "review", {PREGNANCY}, id="pregnant-later-trimester-reviews"),
        P("unsure", "review", {PREGNANCY, TRIMESTER}, id="pregnant-trimester-not-sure-reviews"),
    ],
)
def test_trimester_answer_decides_between_stop_and_review(
    kb: KnowledgeBase, trimester: str, decision: str, fired_rules: set[str]
) -> None:
    answers = clear_answers(pregnancy="yes")
    answers[TRIMESTER] = coded(trimester)
    result = screen(kb, intake(kb, answers))
    assert fired(result) == fired_rules
    assert result.decision == decision


# ---------------------------------------------------------------- 3. coded data

#: (rule, resource carrying one of its core codes); descendants where the rule says so
CODED_ROWS = [
    ("contraindication.skin-infection", condition("L03.90")),
    ("contraindication.skin-infection", condition("L01.00")),
    ("contraindication.immunocompromised", condition("B20")),
    ("contraindication.immunocompromised", medication("6851")),
    ("contraindication.immunocompromised", medication("1256", kind="MedicationStatement")),
    ("contraindication.immunocompromised", medication("L04AX03", system=ATC)),
    ("contraindication.metal-allergy", allergy("33396006")),
    ("contraindication.metal-allergy", allergy("1311629", system=RXNORM)),
    (BLEEDING, condition("D68.9")),
    (BLEEDING, condition("D66")),
    (PREGNANCY, condition("Z33.1")),
    (PREGNANCY, condition("77386006", system=SNOMED)),
    ("contraindication.lymphedema", condition("I89.0")),
    (ANTICOAGULANT, condition("Z79.01")),
    (ANTICOAGULANT, medication("11289")),
    (ANTICOAGULANT, medication("1364430", kind="MedicationStatement")),
    (ANTICOAGULANT, medication("B01AA03", system=ATC)),
    ("contraindication.vascular-disease", condition("I73.9")),
    ("contraindication.vascular-disease", condition("I83.90")),
    ("contraindication.diabetes", condition("E11.9")),
    ("contraindication.diabetes", condition("E119")),
    ("contraindication.diabetes", condition("E10.9")),
    ("contraindication.epilepsy", condition("G40.909")),
    ("contraindication.joint-replacement", condition("Z96.641")),
    (DEVICE, condition("Z95.0")),
]


@pytest.mark.parametrize(
    ("rule", "resource"),
    CODED_ROWS,
    ids=[f"{rule}-{res['resourceType']}-{code_of(res)}" for rule, res in CODED_ROWS],
)
def test_core_code_fires_rule(kb_core: KnowledgeBase, rule: str, resource: JSON) -> None:
    hit = finding(screen(kb_core, bundle(resource)), rule)
    evidence = " ".join(hit.evidence)
    assert f"{resource['resourceType']}/{resource['id']} " in evidence
    assert code_of(resource) in evidence
    assert hit.certainty == "present"


def test_every_core_code_fires_its_rule(kb_core: KnowledgeBase) -> None:
    misses = []
    for rule in kb_core.contraindications:
        t = rule.triggers
        resources = [condition(c.code, system=c.system) for c in t.conditions]
        resources += [allergy(c.code, system=c.system) for c in t.allergies]
        for kind in ("MedicationRequest", "MedicationStatement"):
            resources += [medication(c.code, kind=kind, system=c.system) for c in t.medications]
        for resource in resources:
            if rule.id not in fired(screen(kb_core, bundle(resource))):
                misses.append(f"{rule.id} {resource['resourceType']} {code_of(resource)}")
    assert misses == []


WARFARIN_TEXT = medication("99999999")
WARFARIN_TEXT["medicationCodeableConcept"]["text"] = "Warfarin Sodium 5 MG Oral Tablet"
NAPROXEN = medication("105899", display="naproxen 500 MG Oral Tablet [Naprosyn]")


#: (knowledge, rule, resource, fires, evidence text). RxNorm 855332 "warfarin sodium 5 MG Oral
#: Tablet" is in the VSAC Warfarin set (...7.1.232); LOINC 26515-7 is in the platelet-count set.
@pytest.mark.parametrize(
    ("knowledge", "rule", "resource", "fires", "text"),
    [
        P("kb", ANTICOAGULANT, medication("855332"), True, "value set", id="anticoagulant-product-via-value-set"),
        P("kb_core", ANTICOAGULANT, medication("855332"), False, None, id="anticoagulant-product-needs-value-sets"),
        P("kb_core", ANTICOAGULANT, medication("855332", display="warfarin sodium 5 MG Oral Tablet"), True, "names warfarin", id="anticoagulant-product-display-names-ingredient"),
        P("kb_core", ANTICOAGULANT, WARFARIN_TEXT, True, "names warfarin", id="anticoagulant-unknown-code-text-names-ingredient"),
        P("kb", ANTICOAGULANT, NAPROXEN, False, None, id="anticoagulant-excluded-naproxen-105899"),
        P("kb_core", ANTICOAGULANT, NAPROXEN, False, None, id="anticoagulant-naproxen-core"),
        P("kb_core", BLEEDING, observation("26515-7", flag="L"), False, None, id="bleeding-platelet-set-needs-value-sets"),
    ],
)  # fmt: skip
def test_value_sets_and_medicine_names(
    request: pytest.FixtureRequest,
    knowledge: str,
    rule: str,
    resource: JSON,
    fires: bool,
    text: str | None,
) -> None:
    result = screen(request.getfixturevalue(knowledge), bundle(resource))
    assert (rule in fired(result)) is fires
    if fires:
        evidence = " ".join(finding(result, rule).evidence)
        assert f"{resource['resourceType']}/{resource['id']}" in evidence
        assert text is not None
        assert text in evidence


# ---------------------------------------------------------------- 4-5. status filtering, observations

DIABETES = "contraindication.diabetes"
METAL = "contraindication.metal-allergy"

#: (rule, resource, expected certainty or None when the rule must not fire, evidence text)
RECORD_ROWS = [
    P(DIABETES, condition("E11.9"), "present", None, id="diabetes-active"),
    P(DIABETES, condition("E11.9", ver="confirmed"), "present", None, id="diabetes-confirmed"),
    P(DIABETES, condition("E11.9", clinical="recurrence"), "present", None, id="diabetes-recurrence"),
    P(DIABETES, condition("E11.9", clinical="relapse"), "present", None, id="diabetes-relapse"),
    P(DIABETES, condition("E11.9", clinical=None), "present", "clinical status not recorded", id="diabetes-no-status"),
    P(DIABETES, condition("E11.9", ver="provisional"), "present", "provisional", id="diabetes-provisional"),
    P(DIABETES, condition("E11.9", ver="unconfirmed"), "present", "unconfirmed", id="diabetes-unconfirmed"),
    P(DIABETES, condition("E11.9", system="urn:oid:2.16.840.1.113883.6.90"), "present", None, id="diabetes-icd10cm-oid-system"),
    P(DIABETES, condition(" E11.9 "), "present", None, id="diabetes-code-with-spaces"),
    P(ANTICOAGULANT, medication("11289", system="urn:oid:2.16.840.1.113883.6.88"), "present", None, id="anticoagulant-rxnorm-oid-system"),
    P(DIABETES, condition("E11.9", clinical="resolved"), None, None, id="diabetes-resolved"),
    P(DIABETES, condition("E11.9", clinical="inactive"), None, None, id="diabetes-inactive"),
    P(DIABETES, condition("E11.9", clinical="remission"), None, None, id="diabetes-remission"),
    P(DIABETES, condition("E11.9", ver="refuted"), None, None, id="diabetes-refuted"),
    P(DIABETES, condition("E11.9", ver="entered-in-error"), None, None, id="diabetes-entered-in-error"),
    P(ANTICOAGULANT, medication("11289", status="on-hold"), "present", None, id="anticoagulant-request-on-hold"),
    P(ANTICOAGULANT, medication("11289", status=None), "present", "status not recorded", id="anticoagulant-request-no-status"),
    *[
        P(ANTICOAGULANT, medication("11289", status=s), None, None, id=f"anticoagulant-request-{s}")
        for s in ("stopped", "cancelled", "completed", "entered-in-error")
    ],
    P(ANTICOAGULANT, medication("11289", doNotPerform=True), None, None, id="anticoagulant-request-doNotPerform"),
    *[
        P(ANTICOAGULANT, medication("11289", kind="MedicationStatement", status=s), None, None, id=f"anticoagulant-statement-{s}")
        for s in ("completed", "stopped", "not-taken", "entered-in-error")
    ],
    P(METAL, allergy("91935009") | {"reaction": [{"substance": concept(SNOMED, "33396006")}]}, "present", "33396006", id="metal-allergy-reaction-substance"),
    P(METAL, allergy("33396006", clinical="inactive"), None, None, id="metal-allergy-inactive"),
    P(METAL, allergy("33396006", clinical="resolved"), None, None, id="metal-allergy-resolved"),
    P(METAL, allergy("33396006", ver="refuted"), None, None, id="metal-allergy-refuted"),
    P(PREGNANCY, observation("82810-3", "77386006"), "present", "82810-3", id="pregnancy-obs-pregnant"),
    P(PREGNANCY, observation("82810-3", "77386006", state="preliminary"), "present", None, id="pregnancy-obs-preliminary"),
    P(PREGNANCY, observation("82810-3", "146799005"), "possible", "146799005", id="pregnancy-obs-possible"),
    P(PREGNANCY, observation("82810-3", "152231000119106"), "possible", None, id="pregnancy-obs-not-confirmed"),
    P(PREGNANCY, observation("82810-3", "261665006"), "possible", None, id="pregnancy-obs-unknown"),
    P(PREGNANCY, observation("82810-3", "60001007"), None, None, id="pregnancy-obs-not-pregnant"),
    P(PREGNANCY, observation("82810-3", "77386006", state="cancelled"), None, None, id="pregnancy-obs-cancelled"),
    P(PREGNANCY, observation("82810-3", "77386006", state="entered-in-error"), None, None, id="pregnancy-obs-entered-in-error"),
    *[
        P(BLEEDING, observation(loinc, flag=flag), "present", "no numeric threshold", id=f"bleeding-{loinc}-{flag}")
        for loinc, flag in [("777-3", "L"), ("777-3", "LL"), ("6301-6", "H"), ("34714-6", "H"), ("26515-7", "L")]
    ],
    *[
        P(BLEEDING, observation(loinc, flag=flag), None, None, id=f"bleeding-{loinc}-{flag}")
        for loinc, flag in [("777-3", "N"), ("777-3", "H"), ("6301-6", "N"), ("34714-6", "L")]
    ],
    P("contraindication.malignancy", condition("C50.911"), "present", "value set", id="malignancy-C50.911"),
    P("contraindication.malignancy", condition("C90.01"), "present", "value set", id="malignancy-compose-only-C90.01"),
    P("contraindication.malignancy", condition("1080101000119105", SNOMED), "present", None, id="malignancy-snomed-compose-only"),
    P(PREGNANCY, condition("O36.0912"), "present", "value set", id="pregnancy-grouping-child-set-O36.0912"),
    P("contraindication.joint-replacement", procedure("1230048008"), "present", "value set", id="joint-replacement-procedure"),
    P("contraindication.joint-replacement", procedure("1230048008", "not-done"), None, None, id="joint-replacement-procedure-not-done"),
    P(ANTICOAGULANT, allergy("11289", system=RXNORM), None, None, id="anticoagulant-allergy-is-not-use"),
    P(ANTICOAGULANT, condition("11289", system=RXNORM), None, None, id="anticoagulant-code-in-condition"),
    P(METAL, condition("33396006", system=SNOMED), None, None, id="metal-allergy-code-in-condition"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "resource", "certainty", "text"), RECORD_ROWS)
def test_record_fires_or_not(
    kb: KnowledgeBase, rule: str, resource: JSON, certainty: str | None, text: str | None
) -> None:
    result = screen(kb, bundle(resource))
    if certainty is None:
        assert rule not in fired(result)
        return
    hit = finding(result, rule)
    assert hit.certainty == certainty
    evidence = " ".join(hit.evidence)
    assert f"{resource['resourceType']}/{resource['id']}" in evidence
    if text:
        assert text in evidence


@pytest.mark.parametrize(("value", "decision"), [("146799005", "review"), ("60001007", "eligible")])
def test_pregnancy_observation_decision(kb: KnowledgeBase, value: str, decision: str) -> None:
    document = bundle(intake(kb, clear_answers()), observation("82810-3", value))
    assert screen(kb, document).decision == decision


# ---------------------------------------------------------------- 6. age (contraindication.child)


@pytest.mark.parametrize(
    ("birth", "as_of", "fires"),
    [
        P("2008-11-27", AS_OF, True, id="child-17-day-before-birthday"),
        P("2008-11-26", AS_OF, False, id="child-18-on-birthday"),
        P("1980-01-01", AS_OF, False, id="child-adult"),
        P("2009", date(2026, 6, 1), True, id="child-partial-2009"),
        P("2008", date(2026, 6, 1), True, id="child-partial-2008-youngest-17"),
        P("2008", date(2026, 12, 31), False, id="child-partial-2008-surely-18"),
        P("2008-12", date(2026, 12, 15), True, id="child-partial-month-youngest-17"),
        P("2008-11", date(2026, 11, 30), False, id="child-partial-month-surely-18"),
    ],
)
def test_child_rule_from_birth_date(
    kb: KnowledgeBase, birth: str, as_of: date, fires: bool
) -> None:
    result = screen(kb, bundle(patient(birth)), as_of=as_of)
    assert (CHILD in fired(result)) is fires
    assert CHILD not in result.unanswered
    if fires:
        hit = finding(result, CHILD)
        assert (hit.level.value, hit.certainty) == ("relative", "present")
        assert f"Patient/p1 birthDate {birth}" in " ".join(hit.evidence)


def test_known_adult_birth_date_answers_child_question(kb: KnowledgeBase) -> None:
    answers = clear_answers(skip=(CHILD,))
    result = screen(kb, bundle(patient("1980-05-05"), intake(kb, answers)))
    assert result.decision == "eligible"
    assert list(result.unanswered) == []


# ---------------------------------------------------------------- 7. plan (contraindication.implanted-device)


@pytest.mark.parametrize(("es", "plan_unknown"), [(True, False), (None, True)])
def test_device_fires_unless_stimulation_excluded(
    kb: KnowledgeBase, es: bool | None, plan_unknown: bool
) -> None:
    result = screen(kb, intake(kb, clear_answers(implanted_device="yes")), es=es)
    assert finding(result, DEVICE).certainty == "present"
    assert ("policy.plan-unknown" in result.policies) is plan_unknown
    assert result.decision == "review"


@pytest.mark.parametrize("case", ["answered-yes", "unanswered", "coded-pacemaker"])
def test_device_ignored_without_stimulation(kb: KnowledgeBase, case: str) -> None:
    documents = {
        "answered-yes": intake(kb, clear_answers(implanted_device="yes")),
        "unanswered": intake(kb, clear_answers(skip=(DEVICE,))),
        "coded-pacemaker": bundle(intake(kb, clear_answers()), condition("Z95.0")),
    }
    result = screen(kb, documents[case], es=False)
    assert DEVICE not in fired(result)
    assert DEVICE not in result.unanswered
    assert result.decision == "eligible"


def test_device_unanswered_counts_when_plan_unknown(kb: KnowledgeBase) -> None:
    result = screen(kb, intake(kb, clear_answers(skip=(DEVICE,))), es=None)
    assert list(result.unanswered) == [DEVICE]


# ---------------------------------------------------------------- 8. answers and coded data add up


@pytest.mark.parametrize(
    ("rule", "answers", "resource"),
    [
        P(ANTICOAGULANT, {}, medication("11289"), id="anticoagulant-no-vs-warfarin"),
        P(DIABETES, {}, condition("E11.9"), id="diabetes-no-vs-E11.9"),
        P(PREGNANCY, {"pregnancy": "yes"}, observation("82810-3", "60001007"), id="pregnancy-yes-vs-not-pregnant"),
        P(ANTICOAGULANT, {"anticoagulant": "unsure"}, medication("11289"), id="anticoagulant-unsure-vs-warfarin"),
        P(CHILD, {}, patient("2010-03-03"), id="child-no-vs-birthDate-2010"),
    ],
)  # fmt: skip
def test_coded_data_and_answers_never_clear_each_other(
    kb: KnowledgeBase, rule: str, answers: dict[str, str], resource: JSON
) -> None:
    result = screen(kb, bundle(intake(kb, clear_answers(skip=(), **answers)), resource))
    assert finding(result, rule).certainty == "present"
    assert result.decision == "review"


# ---------------------------------------------------------------- 9. result contract


def test_result_json_contract(kb: KnowledgeBase) -> None:
    answers = clear_answers(
        needle_fear="unsure", diabetes="yes", skip=("contraindication.malignancy",)
    )
    document = bundle(intake(kb, answers), medication("11289"), patient("2010-01-01"))
    data = json.loads(json.dumps(screen(kb, document, es=None).to_json()))
    keys = ["decision", "findings", "unanswered", "policies", "knowledge", "language"]
    assert set(data) == {*keys, "citations"}
    rules = {"contraindication.needle-fear", DIABETES, ANTICOAGULANT, CHILD}
    assert {f["rule"] for f in data["findings"]} == rules
    for item in data["findings"]:
        assert set(item) == {"rule", "level", "title", "certainty", "evidence", "sources"}
        assert item["evidence"]
        assert item["sources"]
        for source in item["sources"]:
            assert data["citations"].get(source, source) != source  # cited in full
    assert data["knowledge"]["version"] == kb.version
    assert data["knowledge"]["sha256"] == kb.sha256
    assert (data["language"], data["decision"]) == ("en", "review")
    assert data["unanswered"] == ["contraindication.malignancy"]
    assert set(data["policies"]) >= {"policy.unsure-answer", "policy.unanswered-required"}


@pytest.mark.parametrize("rule", RULE_IDS, ids=RULE_IDS)
def test_spanish_titles(kb: KnowledgeBase, rule: str) -> None:
    answers = clear_answers()
    answers[rule] = coded(RULES[rule][1])
    result = screen(kb, intake(kb, answers), language="es")
    assert result.language == "es"
    known = kb.contraindication(rule)
    assert known is not None
    assert finding(result, rule).title == known.title.es
