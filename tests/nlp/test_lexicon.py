"""Free-text symptom matching: ``find_symptoms(text, kb)`` and the free-text door of triage.

Expected ids were checked by hand against the ``terms`` in symptoms.yaml. The matcher is
accent-, case- and apostrophe-insensitive; a term is negated only when a negation word
stands at most three words before it in the same clause; uncertainty ("not sure") is not
negation; anything else counts as present (architecture.md, triage contract: "Uncertain
free text that mentions a red-flag concept without a clear negation counts as present").
"""

from __future__ import annotations

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier
from needlewise.nlp.lexicon import find_symptoms
from needlewise.services.triage import triage_document

BREATH, CHEST = "symptom.breathing-trouble", "symptom.chest-pain"
DIZZY, FEVER, COUGH = "symptom.faint-dizzy", "symptom.fever", "symptom.cough"

# (id, text, present, negated)
ROWS: list[tuple[str, str, set[str], set[str]]] = [
    # plain mentions, English
    ("en-short-of-breath", "I am short of breath", {BREATH}, set()),
    ("en-chest-hurts", "My chest hurts", {CHEST}, set()),
    ("en-dizzy-blue-lips", "I feel dizzy and my lips are blue", {DIZZY, "symptom.cyanosis"}, set()),
    ("en-upper-case", "CHEST PAIN", {CHEST}, set()),
    ("en-pus", "there is pus coming out", {"symptom.site-pus"}, set()),
    # plain mentions, Spanish
    ("es-fiebre-y-tos", "tengo fiebre y tos", {FEVER, COUGH}, set()),
    ("es-me-duele-el-pecho", "me duele el pecho", {CHEST}, set()),
    ("es-mareada", "estoy mareada", {DIZZY}, set()),
    ("es-nauseas-accent", "tengo náuseas", {"symptom.nausea"}, set()),
    ("es-nauseas-no-accent", "tengo nauseas", {"symptom.nausea"}, set()),
    # apostrophes and accents
    ("curly-apostrophe", "I can\u2019t breathe", {BREATH}, set()),
    ("straight-apostrophe", "I can't breathe", {BREATH}, set()),
    ("no-apostrophe", "i cant breathe", {BREATH}, set()),
    ("es-me-cuesta-respirar", "me cuesta respirar", {BREATH}, set()),
    ("es-falta-de-aire", "falta de aire", {BREATH}, set()),
    ("es-falta-de-aire-stray-accent", "falta de áire", {BREATH}, set()),
    ("es-upper-case-accents", "ME CUESTA RESPIRAR Y TENGO MAREO", {BREATH, DIZZY}, set()),
    # negation
    ("no-chest-pain", "no chest pain", set(), {CHEST}),
    ("no-chest-pain-but-breath", "no chest pain but I am short of breath", {BREATH}, {CHEST}),
    ("dont-have-chest-pain-and-cant-breathe", "I don't have chest pain and I can't breathe", {BREATH}, {CHEST}),
    ("curly-dont", "I don\u2019t feel dizzy", set(), {DIZZY}),
    ("three-words-away", "no new sharp chest pain", set(), {CHEST}),
    ("es-no-tengo-dolor-de-pecho", "no tengo dolor de pecho", set(), {CHEST}),
    ("es-sin-fiebre", "sin fiebre", set(), {FEVER}),
    ("es-no-puedo-respirar", "no puedo respirar", {BREATH}, set()),
    # uncertainty is not negation
    ("not-sure-if-chest-pain", "not sure if it is chest pain", {CHEST}, set()),
    ("im-not-sure-its-chest-pain", "I\u2019m not sure it\u2019s chest pain", {CHEST}, set()),
    ("es-no-se-si-fiebre", "no sé si tengo fiebre", {FEVER}, set()),
    # a negation too far away, or behind punctuation
    ("negation-four-words-back", "never thought I would have chest pain", {CHEST}, set()),
    ("negation-behind-full-stop", "No. Chest pain since lunch.", {CHEST}, set()),
    ("negation-behind-comma", "no, I am dizzy", {DIZZY}, set()),
]  # fmt: skip


def split(text: str, kb: KnowledgeBase) -> tuple[set[str], set[str]]:
    matches = find_symptoms(text, kb)
    return {m.symptom for m in matches if not m.negated}, {m.symptom for m in matches if m.negated}


@pytest.mark.parametrize(
    ("text", "present", "negated"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_find_symptoms(kb: KnowledgeBase, text: str, present: set[str], negated: set[str]) -> None:
    assert split(text, kb) == (present, negated)


@pytest.mark.parametrize(
    "text",
    ["I feel fine today", "", "   ", "gracias, todo bien"],
    ids=["fine", "empty", "blank", "es-fine"],
)
def test_no_symptom_in_text(kb: KnowledgeBase, text: str) -> None:
    assert find_symptoms(text, kb) == []


def test_every_term_matches_its_own_symptom(kb: KnowledgeBase) -> None:
    missed = []
    for symptom in kb.symptoms:
        for term in [*symptom.terms.en, *symptom.terms.es]:
            found = {m.symptom for m in find_symptoms(term, kb) if not m.negated}
            if symptom.id not in found and not found & higher_ids(kb, symptom.tier):
                missed.append((symptom.id, term, sorted(found)))
    assert missed == []


def higher_ids(kb: KnowledgeBase, tier: Tier) -> set[str]:
    return {s.id for s in kb.symptoms if s.tier.rank > tier.rank}


# A red-flag term must be found even when a longer, lower-tier term overlaps it: matching
# must fail toward escalation (symptoms.yaml header: "both match and the higher tier wins").
OVERLAPS = [
    ("chest-pain-getting-worse", "my chest pain is getting worse", CHEST),
    ("chest-pain-getting-worse-short", "chest pain getting worse", CHEST),
    ("es-dias-con-dolor-de-pecho", "llevo días con dolor de pecho", CHEST),
    ("es-sangre-al-toser", "un poco de sangre al toser", "symptom.coughing-blood"),
    ("cant-stop-coughing-blood", "I can't stop coughing blood", "symptom.coughing-blood"),
    ("es-todavia-me-duele-el-pecho", "todavía me duele el pecho", CHEST),
    ("little-blood-when-i-cough", "a little blood when I cough", "symptom.coughing-blood"),
]


@pytest.mark.parametrize(
    ("text", "red_flag"), [r[1:] for r in OVERLAPS], ids=[r[0] for r in OVERLAPS]
)
def test_red_flag_inside_overlapping_term_is_found(
    kb: KnowledgeBase, text: str, red_flag: str
) -> None:
    present, _ = split(text, kb)
    assert red_flag in present


# A negation word that belongs to another symptom's own term ("sin energía", "no energy")
# negates that term, not the next symptom: there is no clear negation of the red flag.
BORROWED_NEGATION = [
    ("es-sin-energia-mareada", "me siento sin energía mareada", DIZZY),
    ("en-no-energy-dizzy", "tired no energy dizzy", DIZZY),
]


@pytest.mark.parametrize(
    ("text", "red_flag"), [r[1:] for r in BORROWED_NEGATION], ids=[r[0] for r in BORROWED_NEGATION]
)
def test_negation_inside_another_term_does_not_negate_a_red_flag(
    kb: KnowledgeBase, text: str, red_flag: str
) -> None:
    present, negated = split(text, kb)
    assert red_flag in present
    assert red_flag not in negated


# ------------------------------------------------------------------ through triage

TRIAGE_ROWS = [
    ("fine-no-chest-pain", "I feel fine, no chest pain", Tier.self_care, None),
    ("chest-pain", "chest pain", Tier.emergency, CHEST),
    ("es-me-cuesta-respirar", "me cuesta respirar", Tier.emergency, BREATH),
    ("redness", "the skin is red and warm", Tier.call_provider, "symptom.site-redness"),
    ("chest-pain-getting-worse", "my chest pain is getting worse", Tier.emergency, CHEST),
    ("es-sangre-al-toser", "un poco de sangre al toser", Tier.emergency, "symptom.coughing-blood"),
]


@pytest.mark.parametrize(
    ("text", "tier", "rule"), [r[1:] for r in TRIAGE_ROWS], ids=[r[0] for r in TRIAGE_ROWS]
)
def test_triage_free_text(kb: KnowledgeBase, text: str, tier: Tier, rule: str | None) -> None:
    result = triage_document({"text": text}, kb)
    assert result.disposition is tier
    if rule is None:
        assert result.reasons == ()
    else:
        reason = next(r for r in result.reasons if r.rule == rule)
        assert reason.matched.startswith("free text:")


def test_negated_free_text_never_removes_a_reported_symptom(kb: KnowledgeBase) -> None:
    result = triage_document({"symptoms": [CHEST], "text": "no chest pain"}, kb)
    assert result.disposition is Tier.emergency
    assert [r.rule for r in result.reasons] == [CHEST]
