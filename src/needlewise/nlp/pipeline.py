"""The spaCy/medspaCy pipelines, built once per process and language from the knowledge base.

Each pipeline is a blank spaCy pipeline for its language (no model download) with:

1. a **folding tokenizer**: spaCy's own tokenizer for the language (with the English
   contractions added to every language, so "can't" reads the same in a Spanish
   message), then each word's norm folded (case, accents), common texting forms read as
   words ("u" -> "you", "q" -> "que") and misspellings read as vocabulary words;
2. a **sentencizer** (``.``, ``!``, ``?``, ``;`` and line breaks end a sentence);
3. medspaCy's **target matcher** with the lay vocabulary of *every* supported language
   (patients mix languages), overlapping matches kept so a red flag inside a longer,
   milder phrase is still seen; forms with a gap are joined by ``nlp/gaps.py``;
4. medspaCy's **ConText** with the context rules of every supported language (medspaCy
   ships no Spanish rules; ours are in ``knowledge/data/language/es.yaml``).

Each matched span is labelled with its **pattern id** (``lay.en.cough.cough``), not its
concept: spaCy 3.7 keys a span's ``_`` attributes by character offsets only, so two
concepts matched on the same words would otherwise share one ``target_rule``.
:attr:`Pipeline.patterns` maps each id to what it means.

Import this module only when a message has text: importing spaCy and medspaCy takes
about a second (their import side effects are contained in ``nlp/spacy_env.py``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema.language import ContextRule, LanguageData
from needlewise.knowledge.schema.pattern_syntax import fold
from needlewise.nlp.compile import CompiledRule, Compiler, Lexicon, language_words
from needlewise.nlp.gaps import GapMatcher, GapRule
from needlewise.nlp.spacy_env import (
    EN_EXCEPTIONS,
    NORM,
    ORTH,
    ConText,
    ConTextRule,
    Doc,
    Language,
    PhraseMatcher,
    Span,
    TargetMatcher,
    TargetRule,
    spacy,
)
from needlewise.nlp.spelling import SpellingCorrector

TARGETS = "needlewise_targets"
NO_COMPLAINTS = "no-complaints"
SENTENCE_ENDS = [".", "!", "?", ";", "\n", "\n\n", "…", "¡", "¿"]
READ_AS = "needlewise_read_as"  # Doc.user_data key: {token index: the word as written}

Kind = Literal["symptom", "no-complaints", "pleasantry", "idiom"]

_CATEGORY = {
    "negated": "NEGATED",
    "uncertain": "UNCERTAIN",
    "resolved": "RESOLVED",
    "hypothetical": "HYPOTHETICAL",
    "again": "AGAIN",
    "ongoing": "ONGOING",
    "historical": "HISTORICAL",
    "pseudo": "PSEUDO",
    "break": "BREAK",
    "join": "JOIN",
}
#: which kinds of word end the reach of a modifier of each category
_TERMINATED_BY = {
    "NEGATED": {"BREAK", "JOIN"},
    "UNCERTAIN": {"BREAK", "JOIN"},
    "RESOLVED": {"BREAK", "JOIN"},
    "HYPOTHETICAL": {"BREAK"},
    "AGAIN": {"BREAK", "JOIN"},
    "ONGOING": {"BREAK", "JOIN"},
    "HISTORICAL": {"BREAK", "JOIN"},
}
_DIRECTION = {"forward": "FORWARD", "backward": "BACKWARD", "both": "BIDIRECTIONAL"}
_INNER_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")


@dataclass(frozen=True, slots=True)
class PatternInfo:
    """What a matched pattern id stands for."""

    kind: Kind
    concept: str | None  # symptom id (for an idiom: what it means instead, if anything)
    says_fine: bool = False  # a "no complaints" phrase that says the patient is fine now
    narrows: frozenset[str] = frozenset()  # concepts this wording says more precisely


class FoldingTokenizer:
    """spaCy's tokenizer, then every norm folded, rewritten and spell-corrected.

    The text is lower-cased first (so "CANT" splits like "cant") and a hyphen between
    two letters reads as a space ("light-headed" = "light headed"); both keep every
    character offset, so quotes come from the message as written.
    """

    def __init__(
        self, base: Any, norms: dict[str, str], corrector: SpellingCorrector | None
    ) -> None:
        self.base = base
        self.vocab = base.vocab
        self._norms = norms
        self._corrector = corrector
        self._fold_cache: dict[str, str] = {}

    def __call__(self, text: str) -> Doc:
        lowered = text.lower()
        if len(lowered) != len(text):  # a character whose lower case is longer
            lowered = text
        doc: Doc = self.base(_INNER_HYPHEN.sub(" ", lowered))
        read_as: dict[int, str] = {}
        for token in doc:
            norm = token.norm_
            folded = self._fold_cache.get(norm)
            if folded is None:
                folded = fold(norm)
                folded = self._norms.get(folded, folded)
                if len(self._fold_cache) < 100_000:
                    self._fold_cache[norm] = folded
            if self._corrector is not None:
                corrected = self._corrector.correct(folded)
                if corrected is not None:
                    read_as[token.i] = text[token.idx : token.idx + len(token)]
                    folded = corrected
            if folded != norm:
                token.norm_ = folded
        if read_as:
            doc.user_data[READ_AS] = read_as
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Doc]:
        for text in texts:
            yield self(text)


@dataclass(frozen=True)
class LanguageTables:
    """Word sets the reader needs, merged over every supported language."""

    function_words: frozenset[str]
    filler: frozenset[str]
    past_words: frozenset[str]
    negation_words: frozenset[str]
    contrast_words: frozenset[str]
    list_words: frozenset[str]
    bridge: frozenset[str]


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


def _add_contractions(tokenizer: Any) -> None:
    """English contractions ("can't", "dont", "I'm") split the same in every language."""
    for orth, pieces in EN_EXCEPTIONS.items():
        if len(pieces) > 1 and all(ORTH in p for p in pieces):
            specs = [{ORTH: p[ORTH], **({NORM: p[NORM]} if NORM in p else {})} for p in pieces]
            tokenizer.add_special_case(orth, specs)


def _negation_check(tables: LanguageTables) -> Callable[[Span, Span, Span], bool]:
    """A denial reaches a concept only across function words and listed concepts.

    "I don't have any pain in my chest" and "no chest pain or shortness of breath" are
    denials of both; "no bruising my lips are blue" is not a denial of blue lips (the
    words between are not function words), so the red flag stays present. This is the
    safe answer to NegEx's scope errors (negspacy#41, medspacy#232).
    """

    def check(target: Span, modifier: Span, _between: Span) -> bool:
        doc = target.doc
        spans = list(doc.spans[TARGETS])
        # a concept inside a longer one ("pain" in "chest pain") is reached with it
        containing = [s for s in spans if s.start <= target.start < s.end]
        first = min(s.start for s in containing)
        last = max(s.end for s in containing)
        if modifier.end <= first:
            start, end = modifier.end, first
        else:
            start, end = last, modifier.start
        others = [s for s in spans if s.start >= start and s.end <= end]
        inside = {i for s in others for i in range(s.start, s.end)}
        last_other_end = max((s.end for s in others), default=None)
        joined = last_other_end is None
        for i in range(start, end):
            if i in inside:
                continue
            norm = doc[i].norm_
            if norm in tables.list_words:
                if last_other_end is not None and i >= last_other_end:
                    joined = True
                continue
            if norm in tables.function_words or norm in tables.bridge:
                continue
            return False
        return joined

    return check


def _context_rules(
    rule: ContextRule, compiled: CompiledRule, tables: LanguageTables, not_symptoms: set[str]
) -> list[Any]:
    category = _CATEGORY[rule.category]
    is_pseudo = category in ("BREAK", "JOIN", "PSEUDO")
    direction = "PSEUDO" if is_pseudo else _DIRECTION[rule.direction]
    terminated_by = set() if is_pseudo else set(_TERMINATED_BY[category])
    if category == "RESOLVED" and (rule.direction == "backward" or rule.nearest_only):
        # "I was dizzy earlier, not anymore", "me dolió el pecho, ya se me quitó": reaches
        # back over a comma or "pero", to the nearest concept only
        terminated_by = set()
    on_modifies = _negation_check(tables) if category == "NEGATED" else None
    # only a denial applies to "I'm fine" ("not fine"); the rest concern symptoms, so
    # "ya nada, todo bien" resolves the symptom before it, not "todo bien"
    excluded = None if category == "NEGATED" or is_pseudo else not_symptoms
    common: dict[str, Any] = {
        "category": category,
        "direction": direction,
        "max_scope": rule.max_scope,
        "max_targets": 1 if rule.nearest_only else None,
        "terminated_by": terminated_by,
        "on_modifies": on_modifies,
        "excluded_types": excluded,
        "metadata": {"id": rule.id, "not_for_negatives": rule.not_for_negatives},
    }
    rules: list[Any] = [ConTextRule(literal=p, **common) for p in compiled.phrases]
    rules += [ConTextRule(literal=rule.id, pattern=p, **common) for p in compiled.token_patterns]
    return rules


def _tables(datas: Iterable[LanguageData], negation_words: set[str]) -> LanguageTables:
    function: set[str] = set()
    filler: set[str] = set()
    past: set[str] = set()
    bridge: set[str] = set()
    contrast: set[str] = set()
    for data in datas:
        function |= set(data.function_words)
        filler |= set(data.filler)
        past |= set(data.past_words)
        bridge |= set(data.negation_bridge)
        for rule in data.context:
            if rule.category == "break":
                contrast |= {f for f in rule.match if " " not in f and f.isalpha()}
    return LanguageTables(
        function_words=frozenset(function),
        filler=frozenset(filler),
        past_words=frozenset(past),
        negation_words=frozenset(negation_words),
        contrast_words=frozenset(contrast),
        list_words=frozenset({"or", "nor", "o", "u", "ni"}),
        bridge=frozenset(bridge),
    )


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
    tables = _tables(datas, negation_words)

    nlp = spacy.blank(language)
    _add_contractions(nlp.tokenizer)
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
        context_rules.extend(_context_rules(rule, c, tables, not_symptoms))
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
