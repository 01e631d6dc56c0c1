"""After-treatment triage rules, through ``triage_document`` (triage JSON and aftercare QR).

Tiers of the source page's two escalation lists (source-page-facts.md, "After treatment")
are hard-coded here; the other symptoms come from the red-flag table of
clinical-knowledge.md section 3.1 and are checked against their tier in symptoms.yaml.
Fever: 38.0 °C / 100.4 °F inclusive. Escalations: clinical-knowledge.md sections 2.3, 2.6
and 3.1. Missing or unclear input escalates, never lowers (architecture.md, principle 1).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from needlewise.domain.facts import HoursWindow, PatientCondition
from needlewise.errors import InputError
from needlewise.interop.fhir.canonical import TIME_WINDOWS
from needlewise.interop.fhir.questionnaire import aftercare_questionnaire
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier
from needlewise.services.triage import triage_document

E, C, S = Tier.emergency, Tier.call_provider, Tier.self_care
P = pytest.param
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
    ("symptom.cough", {**H10, "treated_regions": ["region.arm"]}),
    ("symptom.headache", H10),
    ("symptom.nausea", {}),
    # added in issue 8 (clinical-knowledge.md 3.1, content review 1 and 2)
    ("symptom.site-pain-severe", {}),
    ("symptom.very-unwell", {}),
    ("symptom.chills", {"conditions": []}),
    ("symptom.back-pain-deep", {}),
    ("symptom.pain-on-breathing", {**H10, "treated_regions": ["region.arm"]}),
    ("symptom.flare-up", H10),
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
FLARE, BREATH = (
    "escalation.flare-up-beyond-72h",
    "escalation.pain-on-breathing-after-chest-needling",
)
FEVER_PAIN, FEVER_UNWELL = "escalation.fever-severe-pain", "escalation.fever-very-unwell"
JOINT, SPINE = (
    "escalation.joint-replacement-site-pain",
    "escalation.fever-back-pain-after-spinal-needling",
)
IMMUNE = "escalation.fever-weak-immunity"
UNKNOWN_HISTORY = "policy.conditions-unknown"
T38_5 = {"value": 38.5, "unit": "Cel"}
T39_4 = {"value": 39.4, "unit": "Cel"}
NONE: list[str] = []  # health history known: none of the listed conditions
JR, IC, CA = ["joint-replacement"], ["immunocompromised"], ["contraindication.malignancy"]


def doc(*symptoms: str, **extra: Any) -> dict[str, Any]:
    return {"symptoms": [f"symptom.{s}" for s in symptoms], **extra}


UB = ["region.upper-back"]
ESCALATION_ROWS: list[tuple[str, str, dict[str, Any], Tier, bool]] = [
    (COUGH, "upper-back-20h", doc("cough", treated_regions=UB, hours_since_treatment=20), E, True),
    (COUGH, "neck-short-id", doc("cough", treated_regions=["neck"], hours_since_treatment=1), E, True),
    (COUGH, "shoulder", doc("cough", treated_regions=["shoulder"], hours_since_treatment=1), E, True),
    (COUGH, "chest", doc("cough", treated_regions=["chest"], hours_since_treatment=1), E, True),
    (COUGH, "at-72h", doc("cough", treated_regions=UB, hours_since_treatment=72), E, True),
    # changed in issue 8: the lower back's nearness to the lung is a visible gap (lowest ribs,
    # clinical-knowledge.md 2.5 is silent), so it counts as near the lung
    (COUGH, "lower-back-unconfirmed", doc("cough", treated_regions=["lower-back"], hours_since_treatment=20), E, True),
    (COUGH, "arm", doc("cough", treated_regions=["arm"], hours_since_treatment=20), C, False),
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
    (FEVER_RED, "chills-streaks", doc("chills", "site-red-streaks"), E, True),
    (FEVER_RED, "chills-37.2C-streaks", doc("chills", "site-red-streaks", temperature={"value": 37.2, "unit": "Cel"}), C, False),
    (FEVER_RED, "fever-redness-no-streaks", doc("fever", "site-redness", conditions=NONE), C, False),
    (FLARE, "80h", doc("flare-up", hours_since_treatment=80), C, True),
    (FLARE, "72h", doc("flare-up", hours_since_treatment=72), S, False),
    (FLARE, "10h", doc("flare-up", hours_since_treatment=10), S, False),
    (FLARE, "hours-unknown", doc("flare-up"), C, True),
    (BREATH, "upper-back-20h", doc("pain-on-breathing", treated_regions=UB, hours_since_treatment=20), E, True),
    (BREATH, "neck-47h", doc("pain-on-breathing", treated_regions=["neck"], hours_since_treatment=47), E, True),
    (BREATH, "shoulder-1h", doc("pain-on-breathing", treated_regions=["shoulder"], hours_since_treatment=1), E, True),
    (BREATH, "chest-at-72h", doc("pain-on-breathing", treated_regions=["chest"], hours_since_treatment=72), E, True),
    (BREATH, "lower-back-unconfirmed-20h", doc("pain-on-breathing", treated_regions=["lower-back"], hours_since_treatment=20), E, True),
    (BREATH, "upper-back-73h", doc("pain-on-breathing", treated_regions=UB, hours_since_treatment=73), C, False),
    (BREATH, "arm-20h", doc("pain-on-breathing", treated_regions=["arm"], hours_since_treatment=20), C, False),
    (BREATH, "no-regions-treated", doc("pain-on-breathing", treated_regions=[], hours_since_treatment=20), C, False),
    (BREATH, "regions-unknown", doc("pain-on-breathing", hours_since_treatment=20), E, True),
    (BREATH, "hours-unknown", doc("pain-on-breathing", treated_regions=UB), E, True),
    (FEVER_PAIN, "fever-severe-pain", doc("fever", "site-pain-severe"), E, True),
    (FEVER_PAIN, "38.5C-pain-worse", doc("site-pain-worse", temperature=T38_5), E, True),
    (FEVER_PAIN, "39.4C-pus-redness-pain-worse", doc("site-pus", "site-redness", "site-pain-worse", temperature=T39_4), E, True),
    (FEVER_PAIN, "chills-severe-pain", doc("chills", "site-pain-severe", conditions=NONE), E, True),
    (FEVER_PAIN, "severe-pain-no-fever", doc("site-pain-severe", temperature={"value": 37.2, "unit": "Cel"}), C, False),
    # chills stand in for a fever only while no temperature is known (symptom.chills: unmeasured_fever)
    (FEVER_PAIN, "chills-37C-pain-worse", doc("chills", "site-pain-worse", temperature={"value": 37.0, "unit": "Cel"}, conditions=NONE), C, False),
    (FEVER_PAIN, "chills-99F-pain-worse", doc("chills", "site-pain-worse", temperature={"value": 99.0, "unit": "[degF]"}, conditions=NONE), C, False),
    (FEVER_PAIN, "chills-38C-pain-worse", doc("chills", "site-pain-worse", temperature={"value": 38.0, "unit": "Cel"}, conditions=NONE), E, True),
    (FEVER_PAIN, "fever-ticked-37C-pain-worse", doc("fever", "site-pain-worse", temperature={"value": 37.0, "unit": "Cel"}, conditions=NONE), E, True),
    (FEVER_UNWELL, "fever-very-unwell", doc("fever", "very-unwell", conditions=NONE), E, True),
    (FEVER_UNWELL, "101F-very-unwell", doc("very-unwell", temperature={"value": 101, "unit": "[degF]"}), E, True),
    (FEVER_UNWELL, "very-unwell-alone", doc("very-unwell"), C, False),
    (JOINT, "knee-swelling", doc("site-swelling", treated_regions=["thigh-knee"], conditions=JR), E, True),
    (JOINT, "hip-severe-pain", doc("site-pain-severe", treated_regions=["hip-buttock"], conditions=JR), E, True),
    (JOINT, "shoulder-pain-worse", doc("site-pain-worse", treated_regions=["shoulder"], conditions=JR), E, True),
    (JOINT, "regions-unknown", doc("site-swelling", conditions=JR), E, True),
    (JOINT, "neck-not-near-a-joint", doc("site-swelling", treated_regions=["neck"], conditions=JR), C, False),
    (JOINT, "no-joint-replacement", doc("site-swelling", treated_regions=["thigh-knee"], conditions=NONE), C, False),
    (JOINT, "history-unknown", doc("site-swelling", treated_regions=["thigh-knee"]), C, False),
    (SPINE, "fever-deep-back-pain-lower-back", doc("fever", "back-pain-deep", treated_regions=["lower-back"], conditions=NONE), E, True),
    (SPINE, "chills-deep-back-pain-neck", doc("chills", "back-pain-deep", treated_regions=["neck"], conditions=NONE), E, True),
    (SPINE, "fever-deep-back-pain-regions-unknown", doc("fever", "back-pain-deep", conditions=NONE), E, True),
    (SPINE, "fever-deep-back-pain-arm", doc("fever", "back-pain-deep", treated_regions=["arm"], conditions=NONE), C, False),
    (SPINE, "deep-back-pain-no-fever", doc("back-pain-deep", treated_regions=["lower-back"]), C, False),
    (IMMUNE, "fever-immunocompromised", doc("fever", conditions=IC), E, True),
    (IMMUNE, "38.5C-cancer", doc(temperature=T38_5, conditions=CA), E, True),
    (IMMUNE, "chills-immunocompromised", doc("chills", conditions=IC), E, True),
    (IMMUNE, "fever-no-weak-immunity", doc("fever", conditions=NONE), C, False),
    (IMMUNE, "fever-other-condition", doc("fever", conditions=["diabetes"]), C, False),
    (IMMUNE, "fever-history-unknown", doc("fever"), C, False),
    (IMMUNE, "immunocompromised-no-fever", doc("bruising", conditions=IC), S, False),
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


def test_chills_with_a_normal_reading_say_why_they_are_not_a_fever(kb: KnowledgeBase) -> None:
    document = doc("chills", "site-pain-worse", temperature={"value": 37.0, "unit": "Cel"})
    result = triage_document({**document, "conditions": NONE}, kb)
    (chills,) = [r for r in result.reasons if r.rule == "symptom.chills"]
    assert chills.tier is C
    assert "below the fever cut-off: not counted as a fever" in chills.matched
    assert "symptom.fever" not in rules(result)


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


UPPER_BACK = [{"valueCoding": {"code": "region.upper-back"}}]
TIME_ROWS = [
    ("symptom.soreness", "under-24-hours", [], S),
    ("symptom.soreness", "24-to-72-hours", [], S),
    ("symptom.soreness", "over-72-hours", [], C),
    ("symptom.flare-up", "24-to-72-hours", [], S),
    ("symptom.flare-up", "over-72-hours", [], C),
    ("symptom.cough", "under-24-hours", UPPER_BACK, E),
    ("symptom.cough", "24-to-72-hours", UPPER_BACK, E),
    ("symptom.cough", "over-72-hours", UPPER_BACK, C),
    ("symptom.pain-on-breathing", "24-to-72-hours", UPPER_BACK, E),
    ("symptom.pain-on-breathing", "over-72-hours", UPPER_BACK, C),
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
    # a standalone check-in does not know the health history: fever asks about it
    assert rules(result) == ["symptom.fever", UNKNOWN_HISTORY]
    assert "38.2" in result.reasons[0].matched
    known = triage_document(response(kb, answers), kb, conditions=())
    assert rules(known) == ["symptom.fever"]


# ------------------------------------------------------------------ 5b. time choices vs windows


def _windows(kb: KnowledgeBase) -> list[tuple[str, float, bool]]:
    """(escalation id, limit, at_most) for every time window in the knowledge base."""
    found = []
    for e in kb.data.escalations:
        if e.when.hours_at_most is not None:
            found.append((e.id, e.when.hours_at_most, True))
        if e.when.hours_more_than is not None:
            found.append((e.id, e.when.hours_more_than, False))
    return found


def test_every_time_choice_is_on_one_side_of_every_window(kb: KnowledgeBase) -> None:
    """No "when were you treated" choice straddles a window (content review 3)."""
    assert _windows(kb), "the knowledge base has time windows"
    for code, (low, high, low_open) in TIME_WINDOWS.items():
        window = HoursWindow(low, high, low_open)
        for escalation_id, limit, at_most in _windows(kb):
            if at_most:  # every hour of the choice inside "at most", or none
                all_in = high <= limit
                none_in = not window.could_be_at_most(limit)
            else:
                all_in = low > limit or (low == limit and low_open)
                none_in = not window.could_be_more_than(limit)
            assert all_in or none_in, f"{code} straddles {escalation_id} ({limit:g} h)"


@pytest.mark.parametrize(
    ("window", "at_most_72", "more_than_72"),
    [
        P(HoursWindow.exactly(72), True, False, id="exactly-72h-is-inside-at-most-72"),
        P(HoursWindow(72, math.inf, low_open=True), False, True, id="more-than-72h-excludes-72"),
        P(HoursWindow(72, math.inf), True, True, id="at-least-72h-includes-72"),
        P(HoursWindow(24, 72), True, False, id="24-to-72h"),
        P(HoursWindow.exactly(72.5), False, True, id="72.5h"),
    ],
)
def test_window_lower_bound_is_read_as_written(
    window: HoursWindow, at_most_72: bool, more_than_72: bool
) -> None:
    assert window.could_be_at_most(72) is at_most_72
    assert window.could_be_more_than(72) is more_than_72


# ------------------------------------------------------------------ 5c. the patient's conditions


@pytest.mark.parametrize(
    ("escalation", "document", "advice"),
    [
        P(JOINT, doc("site-swelling", treated_regions=["thigh-knee"]), "artificial joint", id="joint-replacement"),
        P(IMMUNE, doc("fever"), "immune system is weak", id="weak-immunity"),
    ],
)  # fmt: skip
def test_unknown_history_says_what_to_do_if_it_applies(
    kb: KnowledgeBase, escalation: str, document: dict[str, Any], advice: str
) -> None:
    """policy.conditions-unknown: call today, and call 911 if the condition applies."""
    result = triage_document(document, kb)
    assert result.disposition is C
    (reason,) = [r for r in result.reasons if r.rule == UNKNOWN_HISTORY]
    assert escalation in reason.matched
    assert kb.policy(UNKNOWN_HISTORY).explanation.en in result.advice
    assert advice in result.advice
    spanish = triage_document({**document, "language": "es"}, kb)
    assert kb.policy(UNKNOWN_HISTORY).explanation.es in spanish.advice


def test_unknown_history_adds_nothing_to_an_emergency(kb: KnowledgeBase) -> None:
    result = triage_document(doc("fever", "chest-pain"), kb)
    assert result.disposition is E
    assert kb.policy(UNKNOWN_HISTORY).explanation.en not in result.advice


@pytest.mark.parametrize("certainty", ["present", "possible"])
def test_condition_from_screening_counts_even_when_not_sure(
    kb: KnowledgeBase, certainty: Literal["present", "possible"]
) -> None:
    """A "not sure" answer at intake counts as having the condition (escalate, never lower)."""
    condition = PatientCondition("contraindication.immunocompromised", "screening 7", certainty)
    result = triage_document(doc("fever"), kb, conditions=(condition,))
    assert result.disposition is E
    (reason,) = [r for r in result.reasons if r.rule == IMMUNE]
    assert "screening 7" in reason.matched
    assert ("not sure" in reason.matched) is (certainty == "possible")
    assert result.to_json()["conditions"] == [
        {
            "condition": "contraindication.immunocompromised",
            "where": "screening 7",
            "certainty": certainty,
        }
    ]


def test_given_and_screening_conditions_add_up(kb: KnowledgeBase) -> None:
    screening = (PatientCondition("contraindication.diabetes", "screening 3"),)
    result = triage_document(doc("fever", conditions=IC), kb, conditions=screening)
    assert result.disposition is E
    assert {c.condition for c in result.conditions or ()} == {
        "contraindication.diabetes",
        "contraindication.immunocompromised",
    }


def test_unknown_condition_is_refused_with_its_place(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as caught:
        triage_document(doc("fever", conditions=["diabetes", "heart-of-glass"]), kb)
    assert caught.value.where == "$.conditions[1]"
    assert "heart-of-glass" in caught.value.problem


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
    # issue 8 added conditions (None when the health history was not given)
    assert set(data) == {
        "disposition", "reasons", "advice", "language", "knowledge", "citations", "free_text",
        "conditions",
    }  # fmt: skip
    assert data["free_text"] is None
    assert data["conditions"] is None
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
