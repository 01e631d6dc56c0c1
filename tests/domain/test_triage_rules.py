"""After-treatment triage rules, through ``triage_document`` (triage JSON and aftercare QR).

Tiers of the source page's two escalation lists (source-page-facts.md, "After treatment")
are hard-coded here; the other symptoms come from the red-flag table of
clinical-knowledge.md section 3.1 and are checked against their tier in symptoms.yaml.
Fever: 38.0 °C / 100.4 °F inclusive. Escalations: clinical-knowledge.md sections 2.3, 2.6
and 3.1. Missing or unclear input escalates, never lowers (architecture.md, principle 1).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from needlewise.errors import InputError
from needlewise.interop.fhir.questionnaire import aftercare_questionnaire
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier
from needlewise.services.triage import triage_document

E, C, S = Tier.emergency, Tier.call_provider, Tier.self_care
H10: dict[str, Any] = {"hours_since_treatment": 10}  # inside 72 h: time escalations stay off

# ------------------------------------------------------------------ 1. each symptom's tier

SOURCE_PAGE_TIERS: list[tuple[str, Tier, dict[str, Any]]] = [
    ("symptom.breathing-trouble", E, {}),
    ("symptom.chest-pain", E, {}),
    ("symptom.cyanosis", E, {}),
    ("symptom.faint-dizzy", E, {}),
    ("symptom.speech-trouble", E, {}),
    ("symptom.sense-of-doom", E, {}),
    ("symptom.site-redness", C, {}),
    ("symptom.site-red-streaks", C, {}),
    ("symptom.site-swelling", C, {}),
    ("symptom.site-pain-worse", C, {}),
    ("symptom.weakness", C, {}),
    ("symptom.site-pus", C, {}),
    ("symptom.new-or-worse", C, {}),
    ("symptom.fever", C, {}),
    ("symptom.soreness", S, H10),
    ("symptom.bruising", S, {}),
    ("symptom.minor-bleeding", S, {}),
    ("symptom.tiredness", S, H10),
]

# Other symptoms (clinical-knowledge.md 3.1): the engine must give the tier in the data.
OTHER_SYMPTOMS: list[tuple[str, dict[str, Any]]] = [
    ("symptom.face-lip-swelling", {}),
    ("symptom.coughing-blood", {}),
    ("symptom.seizure", {}),
    ("symptom.limb-swelling-severe", {}),
    ("symptom.confusion", {}),
    ("symptom.numbness-persistent", {}),
    ("symptom.itchy-rash", {}),
    ("symptom.bleeding-wont-stop", {}),
    ("symptom.bruise-large", {}),
    ("symptom.soreness-prolonged", {}),
    ("symptom.cough", {**H10, "treated_regions": ["region.lower-back"]}),
    ("symptom.headache", H10),
    ("symptom.nausea", {}),
]

ALL_SYMPTOMS = [s for s, _, _ in SOURCE_PAGE_TIERS] + [s for s, _ in OTHER_SYMPTOMS]
REGIONS = ["region.neck", "region.upper-back", "region.chest", "region.lower-back", "region.arm"]


def short(symptom_id: str) -> str:
    return symptom_id.removeprefix("symptom.")


def rules(result: Any) -> list[str]:
    return [r.rule for r in result.reasons]


@pytest.mark.parametrize(
    ("symptom_id", "tier", "context"),
    SOURCE_PAGE_TIERS,
    ids=[short(r[0]) for r in SOURCE_PAGE_TIERS],
)
def test_source_page_symptom_tier(
    kb: KnowledgeBase, symptom_id: str, tier: Tier, context: dict[str, Any]
) -> None:
    result = triage_document({"symptoms": [symptom_id], **context}, kb)
    assert result.disposition is tier
    assert (result.reasons[0].rule, result.reasons[0].tier) == (symptom_id, tier)


@pytest.mark.parametrize(
    ("symptom_id", "context"), OTHER_SYMPTOMS, ids=[short(r[0]) for r in OTHER_SYMPTOMS]
)
def test_other_symptom_gets_its_data_tier(
    kb: KnowledgeBase, symptom_id: str, context: dict[str, Any]
) -> None:
    symptom = kb.symptom(symptom_id)
    assert symptom is not None
    result = triage_document({"symptoms": [symptom_id], **context}, kb)
    assert result.disposition is symptom.tier
    assert symptom_id in rules(result)


def test_every_symptom_has_a_tier_row(kb: KnowledgeBase) -> None:
    assert sorted(ALL_SYMPTOMS) == sorted(s.id for s in kb.symptoms)


# ------------------------------------------------------------------ 2. fever boundaries

FEVER_ROWS = [
    (37.9, "Cel", False),
    (38.0, "Cel", True),
    (38.05, "Cel", True),
    (100.3, "[degF]", False),
    (100.4, "[degF]", True),
    (100.45, "[degF]", True),
]


@pytest.mark.parametrize(
    ("value", "unit", "fever"), FEVER_ROWS, ids=[f"{v:g}-{u}" for v, u, _ in FEVER_ROWS]
)
def test_fever_cut_off(kb: KnowledgeBase, value: float, unit: str, fever: bool) -> None:
    result = triage_document({"temperature": {"value": value, "unit": unit}}, kb)
    reasons = [r for r in result.reasons if r.rule == "symptom.fever"]
    if fever:
        assert result.disposition is C
        assert len(reasons) == 1
        assert f"{value:g}" in reasons[0].matched
    else:
        assert result.disposition is S
        assert reasons == []


# ------------------------------------------------------------------ 3. emergency wins


@pytest.mark.parametrize("emergency_id", [s for s, t, _ in SOURCE_PAGE_TIERS if t is E], ids=short)
def test_emergency_beats_everything(kb: KnowledgeBase, emergency_id: str) -> None:
    lower = [s.id for s in kb.symptoms if s.tier is not E]
    document = {"symptoms": [*lower, emergency_id], **H10, "treated_regions": ["region.arm"]}
    result = triage_document(document, kb)
    assert result.disposition is E
    assert result.advice == kb.disposition(E).advice.en
    for symptom in kb.symptoms:
        if symptom.advice is not None:
            assert symptom.advice.en not in result.advice
    assert result.reasons[0].tier is E
    assert emergency_id in rules(result)


# ------------------------------------------------------------------ 4. escalations

COUGH, SORE = "escalation.cough-after-chest-needling", "escalation.soreness-beyond-72h"
FEVER_RED, HEAD = "escalation.fever-spreading-redness", "escalation.headache-tiredness-beyond-72h"


def doc(*symptoms: str, **extra: Any) -> dict[str, Any]:
    return {"symptoms": [f"symptom.{s}" for s in symptoms], **extra}


UB = ["region.upper-back"]
ESCALATION_ROWS: list[tuple[str, str, dict[str, Any], Tier, bool]] = [
    (COUGH, "upper-back-20h", doc("cough", treated_regions=UB, hours_since_treatment=20), E, True),
    (COUGH, "neck-short-id", doc("cough", treated_regions=["neck"], hours_since_treatment=1), E, True),
    (COUGH, "shoulder", doc("cough", treated_regions=["shoulder"], hours_since_treatment=1), E, True),
    (COUGH, "chest", doc("cough", treated_regions=["chest"], hours_since_treatment=1), E, True),
    (COUGH, "at-72h", doc("cough", treated_regions=UB, hours_since_treatment=72), E, True),
    (COUGH, "lower-back", doc("cough", treated_regions=["lower-back"], hours_since_treatment=20), C, False),
    (COUGH, "no-regions-treated", doc("cough", treated_regions=[], hours_since_treatment=20), C, False),
    (COUGH, "upper-back-100h", doc("cough", treated_regions=UB, hours_since_treatment=100), C, False),
    (COUGH, "regions-unknown", doc("cough", hours_since_treatment=20), E, True),
    (COUGH, "hours-unknown", doc("cough", treated_regions=UB), E, True),
    (COUGH, "nothing-known", doc("cough"), E, True),
    (SORE, "80h", doc("soreness", hours_since_treatment=80), C, True),
    (SORE, "72h", doc("soreness", hours_since_treatment=72), S, False),
    (SORE, "10h", doc("soreness", hours_since_treatment=10), S, False),
    (SORE, "hours-unknown", doc("soreness"), C, True),
    (HEAD, "headache-80h", doc("headache", hours_since_treatment=80), C, True),
    (HEAD, "tiredness-80h", doc("tiredness", hours_since_treatment=80), C, True),
    (HEAD, "headache-10h", doc("headache", hours_since_treatment=10), S, False),
    (HEAD, "tiredness-hours-unknown", doc("tiredness"), C, True),
    (FEVER_RED, "38.5C-streaks", doc("site-red-streaks", temperature={"value": 38.5, "unit": "Cel"}), E, True),
    (FEVER_RED, "reported-fever", doc("fever", "site-red-streaks"), E, True),
    (FEVER_RED, "37.5C-streaks", doc("site-red-streaks", temperature={"value": 37.5, "unit": "Cel"}), C, False),
    (FEVER_RED, "fever-alone", doc("fever"), C, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("escalation", "document", "tier", "fires"),
    [r[:1] + r[2:] for r in ESCALATION_ROWS],
    ids=[f"{r[0].removeprefix('escalation.')}:{r[1]}" for r in ESCALATION_ROWS],
)
def test_escalation(
    kb: KnowledgeBase, escalation: str, document: dict[str, Any], tier: Tier, fires: bool
) -> None:
    result = triage_document(document, kb)
    assert result.disposition is tier
    assert (escalation in rules(result)) is fires


def test_every_escalation_has_a_row(kb: KnowledgeBase) -> None:
    assert {e.id for e in kb.data.escalations} == {r[0] for r in ESCALATION_ROWS}


def test_unknown_context_is_named_in_matched(kb: KnowledgeBase) -> None:
    for document, says in (
        (doc("cough", hours_since_treatment=20), "treated regions not given"),
        (doc("cough", treated_regions=UB), "time since treatment not given"),
    ):
        result = triage_document(document, kb)
        (reason,) = [r for r in result.reasons if r.rule == COUGH]
        assert says in reason.matched


# ------------------------------------------------------------------ 5. unclear answers (QR)

YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
CODED = {c: {"valueCoding": {"system": YES_NO, "code": c}} for c in ("Y", "N")}
CODED["UNK"] = {"valueCoding": {"system": NULL_FLAVOR, "code": "UNK"}}


def response(kb: KnowledgeBase, answers: dict[str, Any]) -> dict[str, Any]:
    """A QR with the aftercare questionnaire's item tree; ``answers`` by linkId."""

    def copy(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            node: dict[str, Any] = {"linkId": item["linkId"]}
            value = answers.get(item["linkId"])
            if value is not None:
                coded = CODED[value] if isinstance(value, str) else value
                node["answer"] = coded if isinstance(coded, list) else [coded]
            if item.get("item"):
                node["item"] = copy(item["item"])
            out.append(node)
        return out

    return {
        "resourceType": "QuestionnaireResponse",
        "id": "t1",
        "questionnaire": kb.data.meta.canonical_base + "/Questionnaire/needlewise-aftercare",
        "status": "completed",
        "item": copy(aftercare_questionnaire(kb)["item"]),
    }


def all_emergency_no(kb: KnowledgeBase) -> dict[str, Any]:
    return {s.id: "N" for s in kb.symptoms if s.tier is E}


HOURS_10 = {"valueDecimal": 10}


def test_unsure_self_care_symptom_moves_up(kb: KnowledgeBase) -> None:
    answers = {**all_emergency_no(kb), "symptom.bruising": "UNK", "time-since-treatment": HOURS_10}
    result = triage_document(response(kb, answers), kb)
    assert result.disposition is C
    (reason,) = result.reasons
    assert (reason.rule, reason.tier) == ("symptom.bruising", C)
    assert "not sure" in reason.matched
    assert kb.policy("policy.unclear-symptom").explanation.en in result.advice


def test_unsure_emergency_symptom_is_emergency(kb: KnowledgeBase) -> None:
    answers = {**all_emergency_no(kb), "symptom.chest-pain": "UNK"}
    result = triage_document(response(kb, answers), kb)
    assert result.disposition is E
    assert "symptom.chest-pain" in rules(result)


def test_every_emergency_item_no_is_self_care(kb: KnowledgeBase) -> None:
    result = triage_document(response(kb, all_emergency_no(kb)), kb)
    assert result.disposition is S
    assert result.reasons == ()


@pytest.mark.parametrize("left_blank", ["all", "symptom.cyanosis"], ids=["all-blank", "one-blank"])
def test_unanswered_red_flags_call_provider(kb: KnowledgeBase, left_blank: str) -> None:
    answers = {} if left_blank == "all" else {**all_emergency_no(kb), left_blank: None}
    result = triage_document(response(kb, answers), kb)
    assert result.disposition.rank >= C.rank
    (reason,) = [r for r in result.reasons if r.rule == "policy.unanswered-red-flags"]
    blank = [s.id for s in kb.symptoms if s.tier is E] if left_blank == "all" else [left_blank]
    assert all(b in reason.matched for b in blank)


TIME_ROWS = [
    ("symptom.soreness", "today", [], S),
    ("symptom.soreness", "2-3-days", [], C),
    ("symptom.cough", "yesterday", [{"valueCoding": {"code": "region.upper-back"}}], E),
]


@pytest.mark.parametrize(
    ("symptom_id", "when", "regions", "tier"),
    TIME_ROWS,
    ids=[f"{short(r[0])}-{r[1]}" for r in TIME_ROWS],
)
def test_questionnaire_time_windows(
    kb: KnowledgeBase, symptom_id: str, when: str, regions: list[Any], tier: Tier
) -> None:
    answers = {**all_emergency_no(kb), symptom_id: "Y"}
    answers["time-since-treatment"] = {"valueCoding": {"code": when}}
    if regions:
        answers["treated-regions"] = regions
    assert triage_document(response(kb, answers), kb).disposition is tier


def test_questionnaire_temperature(kb: KnowledgeBase) -> None:
    quantity = {"value": 38.2, "unit": "°C", "system": "http://unitsofmeasure.org", "code": "Cel"}
    answers = {**all_emergency_no(kb), "temperature": {"valueQuantity": quantity}}
    result = triage_document(response(kb, answers), kb)
    assert result.disposition is C
    assert rules(result) == ["symptom.fever"]
    assert "38.2" in result.reasons[0].matched


# ------------------------------------------------------------------ 6. monotonicity

symptom_sets = st.sets(st.sampled_from(ALL_SYMPTOMS), max_size=6)


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if draw(st.booleans()):
        context["temperature"] = draw(
            st.sampled_from(
                [{"value": v, "unit": "Cel"} for v in (36.8, 37.9, 38.0, 39.5)]
                + [{"value": v, "unit": "[degF]"} for v in (99.0, 100.3, 100.4)]
            )
        )
    if draw(st.booleans()):
        context["hours_since_treatment"] = draw(
            st.sampled_from([0, 10, 72, 72.5, 100]) | st.floats(0, 500)
        )
    if draw(st.booleans()):
        context["treated_regions"] = draw(
            st.lists(st.sampled_from(REGIONS), unique=True, max_size=3)
        )
    return context


def rank(kb: KnowledgeBase, symptoms: set[str], context: dict[str, Any]) -> int:
    return triage_document({"symptoms": sorted(symptoms), **context}, kb).disposition.rank


@settings(max_examples=200, deadline=None, database=None)
@given(a=symptom_sets, extra=symptom_sets, context=contexts())
def test_more_symptoms_never_lower_the_tier(
    kb: KnowledgeBase, a: set[str], extra: set[str], context: dict[str, Any]
) -> None:
    assert rank(kb, a | extra, context) >= rank(kb, a, context)


@settings(max_examples=200, deadline=None, database=None)
@given(symptoms=symptom_sets, context=contexts())
def test_forgetting_time_or_regions_never_lowers_the_tier(
    kb: KnowledgeBase, symptoms: set[str], context: dict[str, Any]
) -> None:
    full = rank(kb, symptoms, context)
    for dropped in (("hours_since_treatment",), ("treated_regions",), ("hours_since_treatment", "treated_regions")):  # fmt: skip
        less = {k: v for k, v in context.items() if k not in dropped}
        assert rank(kb, symptoms, less) >= full, dropped


# ------------------------------------------------------------------ 7. bad input

BAD_INPUT: list[tuple[str, Any, str, tuple[str, ...]]] = [
    ("unknown-symptom", {"symptoms": ["symptom.nope"]}, "$.symptoms[0]", ("unknown symptom",)),
    ("unit-C", {"temperature": {"value": 38, "unit": "C"}}, "$.temperature", ("'Cel'", "'[degF]'")),
    ("380-Cel", {"temperature": {"value": 380, "unit": "Cel"}}, "$.temperature", ("plausible range",)),
    ("negative-hours", {"hours_since_treatment": -1}, "$.hours_since_treatment", ()),
    ("unknown-field", {"symptom": ["symptom.chest-pain"]}, "$.symptom", ("unknown field",)),
    ("unknown-region", {"treated_regions": ["elbow"]}, "$.treated_regions[0]", ("unknown",)),
    ("language-fr", {"language": "fr"}, "$.language", ()),
    ("patient", {"resourceType": "Patient"}, "$.resourceType", ("QuestionnaireResponse",)),
    ("not-an-object", ["symptom.chest-pain"], "$", ()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "where", "says"), [r[1:] for r in BAD_INPUT], ids=[r[0] for r in BAD_INPUT]
)
def test_bad_input(kb: KnowledgeBase, document: Any, where: str, says: tuple[str, ...]) -> None:
    with pytest.raises(InputError) as caught:
        triage_document(document, kb)
    assert caught.value.where == where
    for fragment in says:
        assert fragment in caught.value.problem


def test_response_to_another_questionnaire(kb: KnowledgeBase) -> None:
    document = response(kb, all_emergency_no(kb))
    document["questionnaire"] = kb.data.meta.canonical_base + "/Questionnaire/needlewise-intake"
    with pytest.raises(InputError) as caught:
        triage_document(document, kb)
    assert caught.value.where == "$.questionnaire"


# ------------------------------------------------------------------ 8. language

LANGUAGE_ROWS = [
    ("self-care", doc("soreness", hours_since_treatment=10), S),
    ("call-provider", doc("site-pus"), C),
    ("emergency", doc("chest-pain", "bruising"), E),
    ("escalation", doc("soreness", hours_since_treatment=80), C),
]


@pytest.mark.parametrize(
    ("document", "tier"), [r[1:] for r in LANGUAGE_ROWS], ids=[r[0] for r in LANGUAGE_ROWS]
)
def test_spanish(kb: KnowledgeBase, document: dict[str, Any], tier: Tier) -> None:
    result = triage_document({**document, "language": "es"}, kb)
    assert result.disposition is tier
    assert result.language == "es"
    assert result.advice.startswith(kb.disposition(tier).advice.es)
    for reason in result.reasons:
        title = getattr(kb.get(reason.rule), "title")  # noqa: B009 - rule items have a title
        assert (reason.title, reason.title != title.en) == (title.es, True)


# ------------------------------------------------------------------ 9. contract

CONTRACT_ROWS = [
    ("empty", {}),
    ("self-care", doc("bruising", "minor-bleeding")),
    ("escalated", doc("cough", "fever", "site-red-streaks")),
    ("emergency", doc("cyanosis")),
    ("questionnaire", None),
]


@pytest.mark.parametrize(
    "document", [r[1] for r in CONTRACT_ROWS], ids=[r[0] for r in CONTRACT_ROWS]
)
def test_json_contract(kb: KnowledgeBase, document: dict[str, Any] | None) -> None:
    if document is None:
        document = response(kb, {"symptom.chest-pain": "N", "symptom.soreness": "UNK"})
    result = triage_document(document, kb)
    data = result.to_json()
    # the issue-2 fields stay as they were; issue 7 added free_text (None without text)
    assert set(data) == {
        "disposition", "reasons", "advice", "language", "knowledge", "citations", "free_text",
    }  # fmt: skip
    assert data["free_text"] is None
    assert data["disposition"] in {t.value for t in Tier}
    assert data["knowledge"]["version"] == kb.version
    for reason in data["reasons"]:
        assert set(reason) == {"rule", "tier", "title", "matched", "free_text"}
        assert reason["free_text"] == []
        assert reason["rule"] in kb.by_id
        assert reason["matched"]
    assert set(kb.disposition(result.disposition).sources) <= set(data["citations"])
    if result.disposition is S:
        assert kb.disposition(S).advice.en in data["advice"]


@pytest.mark.parametrize("symptom_id", [s.removeprefix("symptom.") for s in ALL_SYMPTOMS])
def test_self_care_advice_always_has_disposition_advice(kb: KnowledgeBase, symptom_id: str) -> None:
    result = triage_document(doc(symptom_id, hours_since_treatment=10, treated_regions=[]), kb)
    if result.disposition is S:
        assert result.advice.startswith(kb.disposition(S).advice.en)
    else:
        assert kb.disposition(S).advice.en not in result.advice
