"""The spaCy/medspaCy pipelines, built once per process and language from the knowledge base.

Each pipeline is a blank spaCy pipeline for its language (no model download) with:

1. a **folding tokenizer** (:mod:`needlewise.nlp.tokenizer`): spaCy's own tokenizer for the language (with the English
   contractions added to every language, so "can't" reads the same in a Spanish
   message), then each word's norm folded (case, accents), common texting forms read as
   words ("u" -> "you", "q" -> "que") and misspellings read as vocabulary words;
2. a **sentencizer** (``.``, ``!``, ``?``, ``;`` and line breaks end a sentence);
3. medspaCy's **target matcher** with the lay vocabulary of *every* supported language
   (patients mix languages), overlapping matches kept so a red flag inside a longer,
   milder phrase is still seen; forms with a gap are joined by ``nlp/gaps.py``;
4. medspaCy's **ConText** with the context rules of every supported language (medspaCy
   ships no Spanish rules; ours are in ``knowledge/data/language/es.yaml``), built by
   :mod:`needlewise.nlp.context_rules`.

Each matched span is labelled with its **pattern id** (``lay.en.cough.cough``), not its
concept: spaCy 3.7 keys a span's ``_`` attributes by character offsets only, so two
concepts matched on the same words would otherwise share one ``target_rule``.
:attr:`Pipeline.patterns` maps each id to what it means.

Import this module only when a message has text: importing spaCy and medspaCy takes
about a second (their import side effects are contained in ``nlp/spacy_env.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema.language import ContextRule, LanguageData
from needlewise.nlp.compile import CompiledRule, Compiler, Lexicon, language_words
from needlewise.nlp.context_rules import rules_for
from needlewise.nlp.gaps import GapMatcher, GapRule
from needlewise.nlp.spacy_env import (
    ConText,
    ConTextRule,
    Doc,
    Language,
    PhraseMatcher,
    TargetMatcher,
    TargetRule,
    spacy,
)
from needlewise.nlp.spelling import SpellingCorrector
from needlewise.nlp.tables import LanguageTables, language_tables
from needlewise.nlp.tokenizer import FoldingTokenizer, add_contractions

TARGETS = "needlewise_targets"
NO_COMPLAINTS = "no-complaints"
SENTENCE_ENDS = [".", "!", "?", ";", "\n", "\n\n", "…", "¡", "¿"]

Kind = Literal["symptom", "no-complaints", "pleasantry", "idiom"]


@dataclass(frozen=True, slots=True)
class PatternInfo:
    """What a matched pattern id stands for."""

    kind: Kind
    concept: str | None  # symptom id (for an idiom: what it means instead, if anything)
    says_fine: bool = False  # a "no complaints" phrase that says the patient is fine now
    narrows: frozenset[str] = frozenset()  # concepts this wording says more precisely


@dataclass
class Pipeline:
    """One language's spaCy pipeline, what its pattern ids mean, and its time phrases."""

    language: str
    nlp: Language
    patterns: dict[str, PatternInfo]
    time_matcher: PhraseMatcher
    time_rules: dict[str, tuple[float, float]]
    half_matcher: PhraseMatcher
    tables: LanguageTables
    lock: threading.Lock

    def __call__(self, text: str) -> Doc:
        with self.lock:  # spaCy pipelines are not safe to share between threads
            return self.nlp(text)


def _breaks(datas: Iterable[LanguageData]) -> set[str]:
    """Words a gap (``...``) never crosses: one-word clause ends and denials."""
    out: set[str] = set()
    for data in datas:
        for rule in data.context:
            if rule.category in ("break", "join", "negated"):
                for form in rule.match:
                    if " " not in form:  # "but", "no" (not "free of")
                        out |= {w for w in form.split("|") if w.isalpha()}
    return out


@dataclass
class _Compiled:
    context: list[tuple[ContextRule, CompiledRule]]
    targets: list[tuple[str, PatternInfo, CompiledRule]]
    times: list[tuple[str, tuple[float, float], CompiledRule]]
    halves: list[CompiledRule]


def _compile(datas: list[LanguageData], lexicon: Lexicon) -> _Compiled:
    out = _Compiled([], [], [], [])
    breaks = _breaks(datas)
    for data in datas:
        compiler = Compiler(data, breaks, lexicon)
        for rule in data.context:
            out.context.append((rule, compiler.compile(rule.id, rule.match, gaps_as="tokens")))
        groups: list[tuple[Kind, list[Any]]] = [
            ("no-complaints", list(data.no_complaints)),
            ("pleasantry", list(data.pleasantries)),
            ("idiom", list(data.idioms)),
        ]
        for kind, items in groups:
            for item in items:
                info = PatternInfo(
                    kind, getattr(item, "means", None), bool(getattr(item, "says_fine", False))
                )
                out.targets.append((item.id, info, compiler.compile(item.id, item.match)))
        for concept, patterns in data.concepts.items():
            for pattern in patterns:
                info = PatternInfo("symptom", concept, narrows=frozenset(pattern.narrows))
                out.targets.append((pattern.id, info, compiler.compile(pattern.id, pattern.match)))
        for phrase in data.time.phrases:
            out.times.append((phrase.id, phrase.hours, compiler.compile(phrase.id, phrase.match)))
        for form in data.numbers.half:
            out.halves.append(compiler.compile(f"half.{data.language}", [form]))
    return out


def build(language: str, kb: KnowledgeBase) -> Pipeline:
    """Build the pipeline for ``language`` (every language's vocabulary and rules)."""
    datas = [kb.data.language[code] for code in kb.data.meta.languages]
    lexicon = Lexicon()
    for data in datas:
        lexicon.known |= language_words(data)
    for other in kb.data.other_languages.languages:
        lexicon.known |= set(other.markers)  # "respirer" is French, not a misspelling
    compiled = _compile(datas, lexicon)
    negation_words = {
        p
        for rule, c in compiled.context
        if rule.category == "negated"
        for p in c.phrases
        if " " not in p
    }
    tables = language_tables(datas, negation_words)

    nlp = spacy.blank(language)
    add_contractions(nlp.tokenizer)
    norms: dict[str, str] = {}
    own = kb.data.language.get(language)
    for data in [d for d in datas if d is not own] + ([own] if own is not None else []):
        norms.update(data.norms)  # the pipeline's own language wins ("m": "am" / "me")
    nlp.tokenizer = FoldingTokenizer(
        nlp.tokenizer, norms, SpellingCorrector(lexicon.fuzzy, lexicon.known)
    )
    nlp.add_pipe("sentencizer", config={"punct_chars": SENTENCE_ENDS})
    targets: TargetMatcher = nlp.add_pipe(
        "medspacy_target_matcher",
        config={
            "result_type": "group",
            "span_group_name": TARGETS,
            "phrase_matcher_attr": "NORM",
            "prune": False,
        },
    )
    gaps = cast(
        GapMatcher,
        nlp.add_pipe(
            "needlewise_gaps", config={"span_group": TARGETS, "breaks": sorted(_breaks(datas))}
        ),
    )
    context: ConText = nlp.add_pipe(
        "medspacy_context",
        config={
            "rules": None,
            "phrase_matcher_attr": "NORM",
            "input_span_type": "group",
            "span_group_name": TARGETS,
            "span_attrs": None,
            "prune_on_modifier_overlap": True,
            "prune_on_target_overlap": True,
        },
    )
    patterns: dict[str, PatternInfo] = {"never": PatternInfo("pleasantry", None)}
    target_rules: list[Any] = []
    gap_rules: list[GapRule] = []
    for pattern_id, info, c in compiled.targets:
        patterns[pattern_id] = info
        target_rules += [TargetRule(p, pattern_id) for p in c.phrases]
        gap_rules += [GapRule(pattern_id, form) for form in c.gap_forms]
    # medspaCy's matcher warns (spaCy W036) on every message when its token Matcher has
    # no pattern, and every target here is a phrase: one pattern that matches no text
    # (a NUL character) keeps it quiet without silencing warnings for the process
    target_rules.append(TargetRule("never", "never", pattern=[{"ORTH": "\x00"}]))
    targets.add(target_rules)
    gaps.add(gap_rules)
    not_symptoms = {pid for pid, info in patterns.items() if info.kind != "symptom"}
    context_rules: list[Any] = []
    for rule, c in compiled.context:
        context_rules.extend(rules_for(rule, c, tables, not_symptoms, TARGETS))
    context_rules.append(
        ConTextRule("never", "PSEUDO", pattern=[{"ORTH": "\x00"}], direction="PSEUDO")
    )
    context.add(context_rules)
    time_matcher = PhraseMatcher(nlp.vocab, attr="NORM")
    time_rules: dict[str, tuple[float, float]] = {}
    for time_id, hours, c in compiled.times:
        time_rules[time_id] = hours
        time_matcher.add(time_id, [nlp.make_doc(p) for p in c.phrases])
    half_matcher = PhraseMatcher(nlp.vocab, attr="NORM")
    half_matcher.add("half", [nlp.make_doc(p) for c in compiled.halves for p in c.phrases])
    return Pipeline(
        language=language,
        nlp=nlp,
        patterns=patterns,
        time_matcher=time_matcher,
        time_rules=time_rules,
        half_matcher=half_matcher,
        tables=tables,
        lock=threading.Lock(),
    )
