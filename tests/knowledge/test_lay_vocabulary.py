"""The lay vocabulary and reading rules of knowledge/data/language/*.yaml (issue 7).

Every pattern, context rule, time phrase and idiom carries examples; each is run here
through the real pipeline, in its own language's pipeline and in the other one (patients
mix languages). A pattern's examples must be read as its concept, present, and never
as something of a higher tier: otherwise the pattern would be shadowed (always
escalated by another one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from needlewise.domain.facts import FreeTextReading
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.loader import load_cached
from needlewise.knowledge.schema import LanguageData, Tier
from needlewise.knowledge.schema.pattern_syntax import PatternSyntaxError, fold, parse_form
from needlewise.nlp import read_message
from needlewise.nlp.compile import Compiler, Lexicon

KB = load_cached(None)
LANGUAGES = tuple(KB.data.meta.languages)


def data(language: str) -> LanguageData:
    return KB.data.language[language]


def present(reading: FreeTextReading) -> set[str]:
    return {m.concept for m in reading.mentions if m.status in ("present", "uncertain")}


# ------------------------------------------------------------------ structure


def test_every_symptom_has_patterns_and_examples_in_every_language(kb: KnowledgeBase) -> None:
    for language in LANGUAGES:
        concepts = data(language).concepts
        assert set(concepts) == {s.id for s in kb.symptoms}, language
        for symptom_id, patterns in concepts.items():
            examples = [e for p in patterns for e in p.examples]
            assert len(examples) >= 3, (language, symptom_id)


def test_pattern_ids_are_unique_and_name_their_language_and_concept() -> None:
    seen: set[str] = set()
    for language in LANGUAGES:
        for symptom_id, patterns in data(language).concepts.items():
            for pattern in patterns:
                assert pattern.id not in seen
                seen.add(pattern.id)
                assert pattern.id.startswith(
                    f"lay.{language}.{symptom_id.removeprefix('symptom.')}."
                )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_form_compiles_within_its_limits(language: str) -> None:
    # pure Python: the knowledge base's forms expand without error, and a form that would
    # expand to too many phrases is matched in parts instead
    compiler = Compiler(data(language), ["and", "but"], Lexicon())
    rules = [(r.id, r.match, "tokens") for r in data(language).context]
    rules += [(p.id, p.match, "parts") for ps in data(language).concepts.values() for p in ps]
    rules += [(p.id, p.match, "parts") for p in data(language).no_complaints]
    for rule_id, forms, gaps_as in rules:
        compiled = compiler.compile(rule_id, forms, gaps_as=gaps_as)
        assert compiled.phrases or compiled.token_patterns or compiled.gap_forms, rule_id


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ("", "empty form"),
        ("... blue", "cannot start or end with a gap"),
        ("lips ...", "cannot start or end with a gap"),
        ("a? b?", "at least one word that is not optional"),
        ("~blue", "5 or more letters"),
        ("~go_in", "one word, not a phrase"),
        ("lips|", "empty alternative"),
        ("@Bad", "bad class name"),
        ("lips ... ... blue", "two gaps in a row"),
        ("li*ps", "is not a single word"),
    ],
)
def test_bad_forms_are_refused_with_the_reason(form: str, problem: str) -> None:
    with pytest.raises(PatternSyntaxError, match=problem):
        parse_form(form)


def test_fold_ignores_case_accents_and_curly_apostrophes() -> None:
    assert fold("RESPIRACIÓN") == "respiracion"
    assert fold("Uñas") == "unas"
    assert fold("can\u2019t") == "can't"


def lexicon_of(language: str) -> Lexicon:
    """Every word the patterns and context rules of ``language`` know (and the ~ ones)."""
    lexicon = Lexicon()
    compiler = Compiler(data(language), ["and"], lexicon)
    for patterns in data(language).concepts.values():
        for pattern in patterns:
            compiler.compile(pattern.id, pattern.match)
    for rule in data(language).context:
        compiler.compile(rule.id, rule.match, gaps_as="tokens")
    return lexicon


def test_fuzzy_targets_are_not_function_words() -> None:
    for language in LANGUAGES:
        assert not lexicon_of(language).fuzzy & set(data(language).function_words), language


def test_markers_of_other_languages_are_not_english_or_spanish_words() -> None:
    ours: set[str] = set()
    for language in LANGUAGES:
        words = data(language)
        ours |= lexicon_of(language).known | set(words.function_words) | set(words.filler)
        ours |= set(words.norms) | set(words.norms.values())
    clashes = {
        (other.code, word)
        for other in KB.data.other_languages.languages
        for word in other.markers
        if word in ours
    }
    assert clashes == set()


def test_every_triage_policy_has_a_tier(kb: KnowledgeBase) -> None:
    for policy in kb.data.policies:
        assert (policy.tier is not None) == (policy.engine == "triage"), policy.id


# ------------------------------------------------------------------ examples, run for real

PATTERN_EXAMPLES = [
    (language, symptom_id, pattern.id, example)
    for language in LANGUAGES
    for symptom_id, patterns in KB.data.language[language].concepts.items()
    for pattern in patterns
    for example in pattern.examples
]


@pytest.mark.parametrize(
    ("language", "symptom_id", "pattern_id", "example"),
    PATTERN_EXAMPLES,
    ids=[f"{p}:{e}" for _, _, p, e in PATTERN_EXAMPLES],
)
@pytest.mark.parametrize("pipeline", LANGUAGES)
def test_every_pattern_reads_its_examples_as_its_concept(
    kb: KnowledgeBase, language: str, symptom_id: str, pattern_id: str, example: str, pipeline: str
) -> None:
    reading = read_message(example, pipeline, kb)
    found = present(reading)
    assert symptom_id in found, (pattern_id, found)
    symptom = kb.symptom(symptom_id)
    assert symptom is not None
    higher = {
        s for s in found if (x := kb.symptom(s)) is not None and x.tier.rank > symptom.tier.rank
    }
    assert higher == set(), f"{pattern_id} is shadowed by {higher}"


CONTEXT_EXAMPLES = [
    (language, rule.id, example.text, example.concept, example.status)
    for language in LANGUAGES
    for rule in KB.data.language[language].context
    for example in rule.examples
]


@pytest.mark.parametrize(
    ("language", "rule_id", "text", "concept", "status"),
    CONTEXT_EXAMPLES,
    ids=[f"{r}:{t}" for _, r, t, _, _ in CONTEXT_EXAMPLES],
)
def test_every_context_rule_does_what_its_examples_say(
    kb: KnowledgeBase, language: str, rule_id: str, text: str, concept: str, status: str
) -> None:
    reading = read_message(text, language, kb)
    statuses = {m.status for m in reading.mentions if m.concept == concept}
    assert status in statuses, [(m.concept, m.status, m.modifiers) for m in reading.mentions]
    if status in ("negated", "uncertain", "resolved", "hypothetical"):
        # the reason names the context rule (a trigger such as "no" may be in the rules of
        # both languages), or the "no complaints" phrase that said it passed
        mention = next(m for m in reading.mentions if m.concept == concept and m.status == status)
        rules = {m.rule for m in mention.modifiers}
        assert any(r.startswith(("context.", "lay.")) for r in rules), rules


@pytest.mark.parametrize("language", LANGUAGES)
def test_time_phrases_and_no_complaints_and_pleasantries_read_their_examples(
    kb: KnowledgeBase, language: str
) -> None:
    for phrase in data(language).time.phrases:
        for example in phrase.examples:
            reading = read_message(example, language, kb)
            assert phrase.id in {t.rule for t in reading.times}, example
    for pattern in data(language).no_complaints + data(language).pleasantries:
        for example in pattern.examples:
            reading = read_message(example, language, kb)
            assert reading.understood, example
            assert present(reading) <= {"no-complaints"}, example


@pytest.mark.parametrize("language", LANGUAGES)
def test_idioms_drop_what_is_inside_them(kb: KnowledgeBase, language: str) -> None:
    for idiom in data(language).idioms:
        for example in idiom.examples:
            reading = read_message(example, language, kb)
            found = present(reading) - {"no-complaints"}
            if idiom.means is None:
                assert not any(
                    (s := kb.symptom(c)) is not None and s.tier is not Tier.self_care for c in found
                ), (example, found)
            else:
                assert idiom.means in found, example


# ------------------------------------------------------------------ narrowing (issue 8)


def test_a_narrowing_pattern_must_say_why() -> None:
    from pydantic import ValidationError

    from needlewise.knowledge.schema.language import LayPattern

    with pytest.raises(ValidationError, match="needs a note"):
        LayPattern.model_validate(
            {
                "id": "lay.en.flare-up.x",
                "match": ["x"],
                "examples": ["x"],
                "narrows": ["symptom.cough"],
            }
        )


@pytest.mark.parametrize("narrowed", ["symptom.pain-on-breathing", "symptom.nowhere"])
def test_a_pattern_narrows_only_another_known_symptom(tmp_path: Path, narrowed: str) -> None:
    from needlewise.knowledge.loader import KnowledgeError, load
    from support import copy_knowledge

    copy_knowledge(tmp_path)
    target = tmp_path / "language" / "en.yaml"
    text = target.read_text(encoding="utf-8")
    assert text.count("narrows: [symptom.chest-pain]") == 1
    target.write_text(text.replace("narrows: [symptom.chest-pain]", f"narrows: [{narrowed}]"))
    with pytest.raises(
        KnowledgeError, match=rf"pain-on-breathing\.back-shoulder-neck: narrows {narrowed}"
    ):
        load(None, data_dir=tmp_path)


@pytest.mark.parametrize(
    ("language", "text", "kept", "dropped"),
    [
        # the generic chest pain inside the narrower words is dropped …
        (
            "en",
            "my back hurts when I breathe in",
            {"symptom.pain-on-breathing"},
            {"symptom.chest-pain"},
        ),
        (
            "es",
            "me duele el hombro al respirar hondo",
            {"symptom.pain-on-breathing"},
            {"symptom.chest-pain"},
        ),
        ("en", "my usual pain is worse for now", {"symptom.flare-up"}, {"symptom.site-pain-worse"}),
        # … but chest pain said anywhere else in the message still counts
        ("en", "my chest and back hurt when I breathe", {"symptom.chest-pain"}, set()),
        (
            "en",
            "my back hurts when I breathe in, and my chest hurts too",
            {"symptom.chest-pain", "symptom.pain-on-breathing"},
            set(),
        ),
        (
            "es",
            "me duele la espalda al respirar hondo y me duele el pecho",
            {"symptom.chest-pain", "symptom.pain-on-breathing"},
            set(),
        ),
        (
            "en",
            "my usual pain is worse and the needle spot hurts more and more",
            {"symptom.flare-up", "symptom.site-pain-worse"},
            set(),
        ),
    ],
)
def test_narrowing_drops_only_what_lies_inside_its_words(
    kb: KnowledgeBase, language: str, text: str, kept: set[str], dropped: set[str]
) -> None:
    found = present(read_message(text, language, kb))
    assert kept <= found, found
    assert not dropped & found, found
