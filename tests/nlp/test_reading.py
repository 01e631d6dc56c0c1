"""How the free-text reader reads: context, numbers, time, understanding (issue 7).

Table-driven, one row per behaviour the issue names; each row goes through the real
pipeline (``read_message``) and, where the disposition matters, through ``triage``.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from contextlib import redirect_stderr
from typing import Any

import pytest
from loguru import logger

from needlewise.domain.facts import FreeTextReading, TextMention
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier
from needlewise.nlp import read_message
from needlewise.nlp.reader import reader_for
from needlewise.services.triage import triage_document

E, C, S = Tier.emergency, Tier.call_provider, Tier.self_care
BREATH, CHEST, DIZZY = "symptom.breathing-trouble", "symptom.chest-pain", "symptom.faint-dizzy"
FEVER, REDNESS, SORE = "symptom.fever", "symptom.site-redness", "symptom.soreness"


def mention(reading: FreeTextReading, concept: str) -> TextMention:
    found = [m for m in reading.mentions if m.concept == concept]
    assert found, [(m.concept, m.status) for m in reading.mentions]
    return found[0]


def status(text: str, concept: str, kb: KnowledgeBase, language: str = "en") -> str:
    return mention(read_message(text, language, kb), concept).status


def disposition(text: str, kb: KnowledgeBase, **context: Any) -> Tier:
    document = {"text": text, "hours_since_treatment": 20, **context}
    return triage_document(document, kb).disposition


# ------------------------------------------------------------------ 3. context

CONTEXT_ROWS = [
    # (id, language, text, concept, status)
    ("clause-negation", "en", "no fever but my arm is red", REDNESS, "present"),
    ("clause-negation-fever", "en", "no fever but my arm is red", FEVER, "negated"),
    ("es-clause", "es", "sin fiebre pero me falta el aire", BREATH, "present"),
    ("es-sin", "es", "sin fiebre pero me falta el aire", FEVER, "negated"),
    ("comma-ends-denial", "en", "no fever, chills", "symptom.fever", "negated"),
    ("or-continues-denial", "en", "no chest pain or shortness of breath", BREATH, "negated"),
    ("ni-continues-denial", "es", "no tengo fiebre ni tos", "symptom.cough", "negated"),
    ("bridge-words", "en", "I don't have any pain in my chest", CHEST, "negated"),
    ("no-bridge-across-content", "en", "no bruising my lips look blue", "symptom.cyanosis", "present"),
    ("self-negating", "en", "No I can't breathe", BREATH, "present"),
    ("es-self-negating", "es", "no, no puedo respirar", BREATH, "present"),
    ("uncertain", "en", "I think maybe it's swollen", "symptom.site-swelling", "uncertain"),
    ("es-uncertain", "es", "creo que tengo fiebre", FEVER, "uncertain"),
    ("not-sure-is-not-denial", "en", "not sure if my lips are blue", "symptom.cyanosis", "uncertain"),
    ("plain-denial", "en", "not dizzy", DIZZY, "negated"),
    ("es-ya-no", "es", "ya no me duele", SORE, "resolved"),
    ("passed-red-flag", "en", "I was dizzy earlier, not anymore", DIZZY, "resolved"),
    ("still-there", "en", "I can't breathe anymore", BREATH, "present"),
    ("conditional-real", "en", "when I lie down I can't breathe", BREATH, "present"),
    ("es-conditional-real", "es", "si camino me falta el aire", BREATH, "present"),
    ("future-question", "en", "what should I do if I get short of breath?", BREATH, "hypothetical"),
    ("future-again", "en", "what if I get chest pain again?", CHEST, "resolved"),
    ("future-still", "en", "what do I do if I'm still dizzy tonight?", DIZZY, "present"),
    ("past-then-fine", "en", "I felt faint this morning but I'm ok now", DIZZY, "resolved"),
    ("present-then-fine", "en", "my chest hurts but I'm fine now", CHEST, "present"),
    ("es-past-then-fine", "es", "anoche me faltó el aire pero ya estoy bien", BREATH, "resolved"),
    ("emphasis-is-not-denial", "en", "never had chest pain like this before", CHEST, "present"),
    ("es-emphasis", "es", "nunca me había dolido tanto el pecho", CHEST, "present"),
    ("mixed-language", "en", "no tengo fever but I can't breathe", BREATH, "present"),
    ("mixed-language-negation", "en", "no tengo fever but I can't breathe", FEVER, "negated"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("language", "text", "concept", "expected"),
    [r[1:] for r in CONTEXT_ROWS],
    ids=[r[0] for r in CONTEXT_ROWS],
)
def test_context(kb: KnowledgeBase, language: str, text: str, concept: str, expected: str) -> None:
    assert status(text, concept, kb, language) == expected


def test_every_modifier_names_its_rule_and_trigger(kb: KnowledgeBase) -> None:
    found = mention(read_message("I think maybe it's swollen", "en", kb), "symptom.site-swelling")
    # two hedges of one kind end each other's reach (ConText): the nearer one applies
    assert [(m.category, m.rule, m.trigger) for m in found.modifiers] == [
        ("uncertain", "context.en.uncertain", "maybe")
    ]
    assert "uncertain: 'maybe'" in found.describe()
    denied = mention(read_message("I don't feel dizzy", "en", kb), DIZZY)
    assert [(m.category, m.rule, m.trigger) for m in denied.modifiers] == [
        ("negated", "context.en.no", "n't")
    ]


def test_negated_mention_is_kept_for_the_record_but_not_counted(kb: KnowledgeBase) -> None:
    result = triage_document(
        {"text": "no fever, only some muscle pain", "hours_since_treatment": 20}, kb
    )
    assert result.disposition is S
    assert result.free_text is not None
    assert mention(result.free_text, FEVER).status == "negated"
    assert FEVER not in {r.rule for r in result.reasons}


def test_passed_red_flag_is_call_provider_with_its_policy(kb: KnowledgeBase) -> None:
    result = triage_document({"text": "I was dizzy earlier, not anymore"}, kb)
    assert result.disposition is C
    reason = next(r for r in result.reasons if r.rule == DIZZY)
    assert reason.tier is C
    assert "policy.red-flag-passed" in reason.matched
    assert kb.policy("policy.red-flag-passed").explanation.en in result.advice


def test_future_question_leaves_the_red_flag_unmarked_and_repeats_the_911_signs(
    kb: KnowledgeBase,
) -> None:
    for language, text in (
        ("en", "what should I do if I get short of breath?"),
        ("es", "¿qué hago si me falta el aire?"),
    ):
        result = triage_document({"text": text, "language": language}, kb)
        assert result.disposition is S
        assert "policy.future-question" in {r.rule for r in result.reasons}
        assert kb.policy("policy.future-question").explanation.get(language) in result.advice
        assert "911" in result.advice


def test_an_uncertain_self_care_symptom_moves_up(kb: KnowledgeBase) -> None:
    assert disposition("I think I might be a bit sore", kb) is C
    assert disposition("a bit sore", kb) is S


# ------------------------------------------------------------------ 2. vocabulary

VOCABULARY_ROWS = [
    ("catch-breath", "can't catch my breath", BREATH),
    ("shallow-fast", "my breathing feels shallow and fast", BREATH),
    ("lips-kind-of-blue", "my lips look kind of blue", "symptom.cyanosis"),
    ("nails-gray", "my nails are turning gray", "symptom.cyanosis"),
    ("pass-out", "I feel like I'm going to pass out", DIZZY),
    ("doom", "I have a terrible feeling something bad is going to happen", "symptom.sense-of-doom"),
    ("chest-tight", "chest is tight", CHEST),
    ("misspelled-after-denial", "no fever but cant breath", BREATH),
    ("misspelled-dizzy", "feeling dizy", DIZZY),
    ("es-misspelled", "no puedo rspirar", BREATH),
    ("es-no-accents", "me duele el pecho y tengo la respiracion rapida", CHEST),
    ("curly-apostrophe", "I can\u2019t breathe", BREATH),
    ("caps", "I CANT BREATHE", BREATH),
    ("hyphen", "light-headed", DIZZY),
    ("texting", "no m llega el aire", BREATH),
]


@pytest.mark.parametrize(
    ("text", "concept"), [r[1:] for r in VOCABULARY_ROWS], ids=[r[0] for r in VOCABULARY_ROWS]
)
def test_lay_words_reach_their_concept(kb: KnowledgeBase, text: str, concept: str) -> None:
    language = "es" if any(w in text for w in ("puedo", "duele", "llega")) else "en"
    assert status(text, concept, kb, language) in ("present", "uncertain")


def test_a_misspelling_says_what_it_was_read_as(kb: KnowledgeBase) -> None:
    found = mention(read_message("feeling dizy", "en", kb), DIZZY)
    assert found.read_as == (("dizy", "dizzy"),)
    assert "'dizy' read as 'dizzy'" in found.describe()


@pytest.mark.parametrize(
    ("text", "word"),
    [("I passed my driving test", "driving"), ("drink plenty of fluids", "fluids")],
)
def test_real_words_are_not_read_as_misspellings(kb: KnowledgeBase, text: str, word: str) -> None:
    reading = read_message(text, "en", kb)
    assert all(word not in dict(m.read_as) for m in reading.mentions)
    assert not [m for m in reading.mentions if m.concept.startswith("symptom.")]


def test_quotes_are_the_patients_words_with_offsets(kb: KnowledgeBase) -> None:
    text = "Hola. Me DUELE el pecho"
    found = mention(read_message(text, "es", kb), CHEST)
    assert text[found.start : found.end] == found.quote == "Me DUELE el pecho"


# ------------------------------------------------------------------ 4. numbers and time

TEMPERATURE_ROWS = [
    # (id, language, text, value, unit or None (implausible))
    ("digits-f-inferred", "en", "temp is 101.2", 101.2, "[degF]"),
    ("unit-f", "en", "100.4 F", 100.4, "[degF]"),
    ("attached-unit", "en", "fever 38.5°C", 38.5, "Cel"),
    ("decimal-comma", "es", "tengo 38,5 de fiebre", 38.5, "Cel"),
    ("degrees-word", "es", "39 grados", 39.0, "Cel"),
    ("words-en", "en", "my temperature is a hundred and one", 101.0, "[degF]"),
    ("words-en-digits", "en", "thermometer says one oh one point five", 101.5, "[degF]"),
    ("words-es-half", "es", "tengo treinta y ocho y medio de fiebre", 38.5, "Cel"),
    ("words-es-point", "es", "la temperatura marca treinta y nueve punto dos", 39.2, "Cel"),
    ("bare-decimal", "en", "it was 100.3 this morning", 100.3, "[degF]"),
    ("implausible", "en", "my temp is 120", 120.0, None),
    ("implausible-unit", "en", "temperature 45 F", 45.0, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("language", "text", "value", "unit"),
    [r[1:] for r in TEMPERATURE_ROWS],
    ids=[r[0] for r in TEMPERATURE_ROWS],
)
def test_temperatures(
    kb: KnowledgeBase, language: str, text: str, value: float, unit: str | None
) -> None:
    temperatures = read_message(text, language, kb).temperatures
    assert [(round(t.value, 2), t.unit) for t in temperatures] == [(value, unit)]


@pytest.mark.parametrize(
    "text",
    ["I took 2 tylenol for the fever", "fever for 3 days", "I got 12 needles", "it is 10 am"],
)
def test_numbers_that_are_not_temperatures(kb: KnowledgeBase, text: str) -> None:
    assert read_message(text, "en", kb).temperatures == ()


@pytest.mark.parametrize(
    ("text", "tier", "rule"),
    [
        ("temp is 101.2", C, FEVER),
        ("100.4 F", C, FEVER),
        ("temp 100.3, feel fine", S, None),
        ("my temp is 120", C, "policy.temperature-unclear"),
        ("tengo 39.4 de fiebre y sale pus", C, FEVER),
    ],
)
def test_written_temperatures_reach_triage(
    kb: KnowledgeBase, text: str, tier: Tier, rule: str | None
) -> None:
    result = triage_document({"text": text, "hours_since_treatment": 20}, kb)
    assert result.disposition is tier
    if rule is not None:
        assert rule in {r.rule for r in result.reasons}


DURATION_ROWS = [
    ("since-yesterday", "en", "sore since yesterday", 6, 48),
    ("for-four-days", "en", "sore for four days", 96, 120),
    ("desde-hace", "es", "dolor desde hace 3 días", 72, 96),
    ("a-week", "en", "achy for a week", 144, 336),
    ("couple-of-days", "en", "a couple of days", 48, 72),
]


@pytest.mark.parametrize(
    ("language", "text", "low", "high"),
    [r[1:] for r in DURATION_ROWS],
    ids=[r[0] for r in DURATION_ROWS],
)
def test_durations(kb: KnowledgeBase, language: str, text: str, low: float, high: float) -> None:
    times = read_message(text, language, kb).times
    assert any((t.hours.low, t.hours.high) == (low, high) for t in times), times


def test_a_stated_duration_feeds_the_time_escalations(kb: KnowledgeBase) -> None:
    result = triage_document({"text": "sore for four days", "hours_since_treatment": 20}, kb)
    assert result.disposition is C
    assert "escalation.soreness-beyond-72h" in {r.rule for r in result.reasons}
    assert disposition("sore since yesterday", kb) is S


def test_a_duration_never_decides_when_the_treatment_was(kb: KnowledgeBase) -> None:
    # the cough started this morning; the treatment was 100 h ago near the lung
    context = {"hours_since_treatment": 100, "treated_regions": ["region.upper-back"]}
    assert disposition("I started coughing this morning", kb, **context) is C


def test_open_ended_time_windows_serialise_as_null(kb: KnowledgeBase) -> None:
    for time in read_message("sore for days", "en", kb).times:
        high = time.to_json()["hours"][1]
        assert high is None or not math.isinf(high)


# ------------------------------------------------------------------ 5. understanding

UNDERSTANDING_ROWS = [
    # (id, language, text, disposition, policy that must be a reason or None)
    ("gibberish", "en", "asdfgh", C, "policy.text-not-understood"),
    ("unknown-complaint", "en", "my arm feels weird and heavy", C, None),
    ("question-only", "en", "???", C, "policy.text-not-understood"),
    ("fine", "en", "I feel fine", S, None),
    ("es-fine", "es", "todo bien", S, None),
    ("thanks", "en", "thanks!", S, None),
    ("denial-only", "es", "nada", S, None),
    ("french", "en", "j'ai du mal à respirer", C, "policy.text-language-not-supported"),
    ("portuguese", "es", "estou com muita dor no peito", C, "policy.text-language-not-supported"),
    ("chinese", "en", "我呼吸困难", C, "policy.text-language-not-supported"),
]


@pytest.mark.parametrize(
    ("language", "text", "tier", "policy"),
    [r[1:] for r in UNDERSTANDING_ROWS],
    ids=[r[0] for r in UNDERSTANDING_ROWS],
)
def test_not_understood_is_never_self_care(
    kb: KnowledgeBase, language: str, text: str, tier: Tier, policy: str | None
) -> None:
    result = triage_document({"text": text, "language": language, "hours_since_treatment": 20}, kb)
    assert result.disposition is tier
    if policy is not None:
        assert policy in {r.rule for r in result.reasons}


def test_other_language_names_the_language(kb: KnowledgeBase) -> None:
    reading = read_message("j'ai du mal à respirer", "en", kb)
    assert reading.other_language == "French"
    assert not reading.understood


def test_blank_text_is_no_message(kb: KnowledgeBase) -> None:
    result = triage_document({"text": "   "}, kb)
    assert result.free_text is None


# ------------------------------------------------------------------ 7. built once, no logs


def test_pipeline_is_built_once_per_language(kb: KnowledgeBase) -> None:
    assert reader_for("en", kb) is reader_for("en", kb)
    assert reader_for("en", kb) is not reader_for("es", kb)


def test_reading_from_threads_gives_the_same_answers(kb: KnowledgeBase) -> None:
    texts = ["I can't breathe", "no fever but my arm is red", "me duele el pecho"] * 20
    expected = [read_message(t, "en", kb) for t in texts]
    results: list[Any] = [None] * len(texts)

    def work(k: int) -> None:
        results[k] = read_message(texts[k], "en", kb)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a reading thread did not finish within 60 s"
    assert results == expected


def test_no_patient_text_reaches_any_log(
    kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "Zebulon"
    sink = io.StringIO()
    sink_id = logger.add(sink, level="TRACE")
    stderr = io.StringIO()
    try:
        caplog.set_level(logging.DEBUG)
        with redirect_stderr(stderr):
            triage_document({"text": f"{marker} says his chest hurts. {marker}!"}, kb)
            read_message(f"{marker} tiene fiebre", "es", kb)
    finally:
        logger.remove(sink_id)
    assert marker not in caplog.text
    assert marker not in sink.getvalue()
    assert marker not in stderr.getvalue()
