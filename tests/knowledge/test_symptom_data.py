"""After-treatment triage knowledge: symptoms.yaml, escalations.yaml, dispositions.yaml.

Tiers follow the source page's two escalation tiers (source-page-facts.md, "After
treatment") and the red-flag table of clinical-knowledge.md section 3.1. Patient text must
read at or below grade 6 (clinical-knowledge.md section 8.1, architecture principle 5).
"""

from __future__ import annotations

import re

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Text, Tier
from support.readability import flesch_kincaid_grades

# ---------------------------------------------------------------- tiers, one row per symptom

SYMPTOM_TIERS: list[tuple[str, Tier]] = [
    # source page: call 911
    ("symptom.breathing-trouble", Tier.emergency),
    ("symptom.chest-pain", Tier.emergency),
    ("symptom.cyanosis", Tier.emergency),
    ("symptom.faint-dizzy", Tier.emergency),
    ("symptom.speech-trouble", Tier.emergency),
    ("symptom.sense-of-doom", Tier.emergency),
    # source page: call your healthcare provider
    ("symptom.site-redness", Tier.call_provider),
    ("symptom.site-red-streaks", Tier.call_provider),
    ("symptom.site-swelling", Tier.call_provider),
    ("symptom.site-pain-worse", Tier.call_provider),
    ("symptom.weakness", Tier.call_provider),
    ("symptom.site-pus", Tier.call_provider),
    ("symptom.new-or-worse", Tier.call_provider),
    ("symptom.fever", Tier.call_provider),
    # source page: everything else is self-care
    ("symptom.soreness", Tier.self_care),
    ("symptom.bruising", Tier.self_care),
    ("symptom.minor-bleeding", Tier.self_care),
    ("symptom.tiredness", Tier.self_care),
    # clinical-knowledge.md section 3.1 (design, awaiting clinical sign-off)
    ("symptom.face-lip-swelling", Tier.emergency),
    ("symptom.coughing-blood", Tier.emergency),
    ("symptom.seizure", Tier.emergency),
    ("symptom.limb-swelling-severe", Tier.emergency),
    ("symptom.confusion", Tier.emergency),
    ("symptom.numbness-persistent", Tier.call_provider),
    ("symptom.itchy-rash", Tier.call_provider),
    ("symptom.bleeding-wont-stop", Tier.call_provider),
    ("symptom.bruise-large", Tier.call_provider),
    ("symptom.soreness-prolonged", Tier.call_provider),
    ("symptom.cough", Tier.call_provider),
    ("symptom.headache", Tier.self_care),
    ("symptom.nausea", Tier.self_care),
    # clinical-knowledge.md section 3.1, added in issue 8 (infection row in full, lung signs
    # felt outside the chest, the expected flare of usual symptoms)
    ("symptom.site-pain-severe", Tier.call_provider),
    ("symptom.very-unwell", Tier.call_provider),
    ("symptom.chills", Tier.call_provider),
    ("symptom.back-pain-deep", Tier.call_provider),
    ("symptom.pain-on-breathing", Tier.call_provider),
    ("symptom.flare-up", Tier.self_care),
]


@pytest.mark.parametrize(("symptom_id", "tier"), SYMPTOM_TIERS)
def test_symptom_has_its_tier(kb: KnowledgeBase, symptom_id: str, tier: Tier) -> None:
    symptom = kb.symptom(symptom_id)
    assert symptom is not None, f"{symptom_id} is missing from symptoms.yaml"
    assert symptom.tier is tier


def test_every_symptom_is_in_the_tier_table(kb: KnowledgeBase) -> None:
    listed = {symptom_id for symptom_id, _ in SYMPTOM_TIERS}
    assert {s.id for s in kb.symptoms} == listed


def test_fever_threshold_is_38_c_or_100_4_f_inclusive(kb: KnowledgeBase) -> None:
    fever = kb.symptom("symptom.fever")
    assert fever is not None
    assert fever.temperature is not None
    assert fever.temperature.min_celsius == 38.0
    assert fever.temperature.min_fahrenheit == 100.4
    assert fever.temperature.inclusive is True


# Free-text vocabulary (the lay patterns of language/*.yaml) is tested in
# tests/knowledge/test_lay_vocabulary.py.


# ---------------------------------------------------------------- escalations


def test_every_escalation_raises_the_tier_of_one_of_its_symptoms(kb: KnowledgeBase) -> None:
    assert kb.data.escalations, "escalations.yaml is empty"
    for escalation in kb.data.escalations:
        ids = escalation.when.symptoms_any + escalation.when.symptoms_all + escalation.when.and_any
        ranks = []
        for symptom_id in ids:
            symptom = kb.symptom(symptom_id)
            assert symptom is not None, f"{escalation.id}: unknown {symptom_id}"
            ranks.append(symptom.tier.rank)
        assert escalation.tier.rank > min(ranks), escalation.id


ESCALATIONS = [
    ("escalation.soreness-beyond-72h", Tier.call_provider),
    ("escalation.flare-up-beyond-72h", Tier.call_provider),
    ("escalation.headache-tiredness-beyond-72h", Tier.call_provider),
    ("escalation.cough-after-chest-needling", Tier.emergency),
    ("escalation.pain-on-breathing-after-chest-needling", Tier.emergency),
    # clinical-knowledge.md 3.1, infection row: "emergency if fever with spreading redness,
    # severe pain, systemic illness, or pain near a joint replacement; deep back pain with
    # fever after spinal needling -> urgent" (urgent maps to emergency: no tier in between)
    ("escalation.fever-spreading-redness", Tier.emergency),
    ("escalation.fever-severe-pain", Tier.emergency),
    ("escalation.fever-very-unwell", Tier.emergency),
    ("escalation.joint-replacement-site-pain", Tier.emergency),
    ("escalation.fever-back-pain-after-spinal-needling", Tier.emergency),
    # not in the notes' table: a visible gap in the data (``gaps``), escalated to be safe
    ("escalation.fever-weak-immunity", Tier.emergency),
]


def test_every_escalation_is_in_the_table(kb: KnowledgeBase) -> None:
    assert [e.id for e in kb.data.escalations] == [e for e, _ in ESCALATIONS]


def test_urgent_mapped_to_emergency_says_so(kb: KnowledgeBase) -> None:
    rule = next(
        e for e in kb.data.escalations if e.id == "escalation.fever-back-pain-after-spinal-needling"
    )
    assert rule.tier_note is not None
    assert "urgent" in rule.tier_note


def test_weak_immunity_tier_is_a_visible_gap(kb: KnowledgeBase) -> None:
    rule = next(e for e in kb.data.escalations if e.id == "escalation.fever-weak-immunity")
    assert rule.gaps
    assert rule.evidence.value == "design"


@pytest.mark.parametrize(("escalation_id", "tier"), ESCALATIONS)
def test_escalation_has_its_tier(kb: KnowledgeBase, escalation_id: str, tier: Tier) -> None:
    found = {e.id: e for e in kb.data.escalations}
    assert escalation_id in found
    assert found[escalation_id].tier is tier


def test_soreness_escalates_only_after_72_hours(kb: KnowledgeBase) -> None:
    rule = next(e for e in kb.data.escalations if e.id == "escalation.soreness-beyond-72h")
    assert rule.when.symptoms_any == ["symptom.soreness"]
    assert rule.when.hours_more_than == 72
    assert rule.when.hours_at_most is None


@pytest.mark.parametrize(
    ("escalation_id", "symptom_id"),
    [
        ("escalation.cough-after-chest-needling", "symptom.cough"),
        ("escalation.pain-on-breathing-after-chest-needling", "symptom.pain-on-breathing"),
    ],
)
def test_lung_escalations_use_the_near_lung_flag(
    kb: KnowledgeBase, escalation_id: str, symptom_id: str
) -> None:
    rule = next(e for e in kb.data.escalations if e.id == escalation_id)
    assert rule.when.near_lung_regions is True
    assert rule.when.regions_any == []
    assert rule.when.symptoms_any == [symptom_id]
    # Pneumothorax cases present from minutes up to about 2 days after needling.
    assert rule.when.hours_at_most is not None
    assert rule.when.hours_at_most >= 48


#: clinical-knowledge.md 2.5: neck, shoulder girdle, upper back and chest wall are over the
#: lung; the lowest ribs (lower back) are not settled by the notes: a visible gap
NEAR_LUNG = {
    "region.neck": True,
    "region.shoulder": True,
    "region.upper-back": True,
    "region.chest": True,
    "region.lower-back": "unknown",
}


def test_near_lung_regions_match_the_notes(kb: KnowledgeBase) -> None:
    flagged = {r.id: r.near_lung for r in kb.data.regions if r.near_lung is not False}
    assert flagged == NEAR_LUNG
    for region in kb.data.regions:
        if region.near_lung == "unknown":
            assert region.near_lung_note, region.id


def test_unconfirmed_near_lung_muscles_say_why(kb: KnowledgeBase) -> None:
    unknown = [m for m in kb.data.muscles if m.near_lung == "unknown"]
    assert {m.id for m in unknown} >= {"muscle.quadratus-lumborum", "muscle.sternocleidomastoid"}
    assert all(m.near_lung_note for m in unknown)


def test_infection_escalations_need_fever_or_chills_and_a_second_sign(kb: KnowledgeBase) -> None:
    for escalation_id, second in (
        ("escalation.fever-spreading-redness", {"symptom.site-red-streaks"}),
        ("escalation.fever-severe-pain", {"symptom.site-pain-severe", "symptom.site-pain-worse"}),
        ("escalation.fever-very-unwell", {"symptom.very-unwell"}),
        ("escalation.fever-back-pain-after-spinal-needling", {"symptom.back-pain-deep"}),
    ):
        rule = next(e for e in kb.data.escalations if e.id == escalation_id)
        assert set(rule.when.symptoms_any) == {"symptom.fever", "symptom.chills"}, escalation_id
        assert set(rule.when.and_any) == second, escalation_id


def test_condition_escalations_say_what_to_do_when_history_is_unknown(kb: KnowledgeBase) -> None:
    with_conditions = [e for e in kb.data.escalations if e.when.conditions_any]
    assert {e.id for e in with_conditions} == {
        "escalation.joint-replacement-site-pain",
        "escalation.fever-weak-immunity",
    }
    for rule in with_conditions:
        assert rule.if_conditions_unknown is not None
        assert "911" in rule.if_conditions_unknown.en
        assert "911" in rule.if_conditions_unknown.es


# ---------------------------------------------------------------- dispositions


def test_exactly_one_disposition_per_tier(kb: KnowledgeBase) -> None:
    tiers = sorted(d.tier.value for d in kb.data.dispositions)
    assert tiers == sorted(t.value for t in Tier)
    for tier in Tier:
        assert kb.disposition(tier).id == f"disposition.{tier.value}"


def test_self_care_says_to_call_if_it_gets_worse(kb: KnowledgeBase) -> None:
    advice = kb.disposition(Tier.self_care).advice
    assert re.search(r"\bcall your provider if it gets worse\b", advice.en, re.IGNORECASE)
    assert re.search(r"\bllame a su terapeuta o a la clínica si empeora\b", advice.es, re.I)
    # content review 7: nothing was recognised, so nothing is called "common"
    assert "common" not in advice.en.lower()
    assert "común" not in advice.es.lower()
    assert "proveedor" not in advice.es.lower()
    assert "911" in advice.en
    assert "911" in advice.es


@pytest.mark.parametrize("tier", [Tier.emergency, Tier.call_provider])
def test_escalated_advice_names_911(kb: KnowledgeBase, tier: Tier) -> None:
    advice = kb.disposition(tier).advice
    assert "911" in advice.en
    assert "911" in advice.es


def test_emergency_advice_says_not_to_drive(kb: KnowledgeBase) -> None:
    advice = kb.disposition(Tier.emergency).advice
    assert "do not drive" in advice.en.lower()
    assert "no maneje" in advice.es.lower()


# ---------------------------------------------------------------- wording


def _patient_texts(kb: KnowledgeBase) -> list[tuple[str, str, Text]]:
    """(item id, field, Text) for every patient-facing string of the triage knowledge."""
    texts: list[tuple[str, str, Text]] = []
    for symptom in kb.symptoms:
        texts.append((symptom.id, "title", symptom.title))
        texts.append((symptom.id, "question", symptom.question))
        if symptom.advice is not None:
            texts.append((symptom.id, "advice", symptom.advice))
    for escalation in kb.data.escalations:
        texts.append((escalation.id, "title", escalation.title))
        texts.append((escalation.id, "explanation", escalation.explanation))
    for disposition in kb.data.dispositions:
        texts.append((disposition.id, "title", disposition.title))
        texts.append((disposition.id, "advice", disposition.advice))
    return texts


def test_questions_are_questions_in_both_languages(kb: KnowledgeBase) -> None:
    for symptom in kb.symptoms:
        assert symptom.question.en.endswith("?"), symptom.id
        assert symptom.question.es.startswith("¿"), symptom.id
        assert symptom.question.es.endswith("?"), symptom.id


def test_no_toxin_flushing_claim(kb: KnowledgeBase) -> None:
    # clinical-knowledge.md 3.2: "water flushes toxins" is not evidence-based.
    for item_id, field, text in _patient_texts(kb):
        assert "toxin" not in text.en.lower(), f"{item_id}.{field}"
        assert "toxina" not in text.es.lower(), f"{item_id}.{field}"


def _english_for_grade_six(kb: KnowledgeBase) -> list[tuple[str, str]]:
    texts = [(f"{s.id}.question", s.question.en) for s in kb.symptoms]
    texts += [(f"{s.id}.advice", s.advice.en) for s in kb.symptoms if s.advice is not None]
    texts += [(f"{e.id}.explanation", e.explanation.en) for e in kb.data.escalations]
    texts += [(f"{d.id}.advice", d.advice.en) for d in kb.data.dispositions]
    texts += [
        (f"{p.id}.explanation", p.explanation.en) for p in kb.data.policies if p.engine == "triage"
    ]
    return texts


def test_english_questions_and_advice_read_at_grade_six_or_below(kb: KnowledgeBase) -> None:
    too_hard = {
        label: grades
        for label, text in _english_for_grade_six(kb)
        if max((grades := flesch_kincaid_grades(text)).values()) > 6
    }
    assert too_hard == {}


def test_grade_measure_tells_hard_text_from_easy_text() -> None:
    easy = "Call your provider if it gets worse."
    hard = (
        "Persistent paraesthesia following intramuscular stimulation necessitates "
        "comprehensive neurological evaluation by an appropriately qualified practitioner."
    )
    assert max(flesch_kincaid_grades(easy).values()) <= 6
    assert min(flesch_kincaid_grades(hard).values()) > 12
