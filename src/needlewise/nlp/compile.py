"""Turn the knowledge base's compact forms into matcher rules (pure Python, no spaCy).

A form without a gap becomes **literal phrases** (every combination of its alternatives),
which spaCy's PhraseMatcher finds in time proportional to the message, not to the
number of phrases. A form with a gap (``lips ... blue``) becomes, for the lay vocabulary,
**parts** of phrases joined by ``nlp/gaps.py``, and for the few context rules with a gap,
**token patterns** for spaCy's Matcher with an exact first word (the Matcher costs time
for every pattern at every word, and is slowest when a pattern starts with a list;
measured in ``bench/freetext_bench.py``).

The compiler also collects the reader's word lists: every word the vocabulary knows
(never corrected as a misspelling) and the ``~`` words the spelling corrector may read
an unknown word as.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from needlewise.knowledge.schema.language import LanguageData
from needlewise.knowledge.schema.pattern_syntax import (
    GAP_MAX,
    Item,
    Slot,
    parse_class_value,
    parse_form,
)

#: ceiling on the phrases one form may expand to (a typo in a class can explode)
MAX_PHRASES_PER_FORM = 20_000
#: a form that would expand to more phrases than this is matched as adjacent parts
#: instead (the target matcher's set-up cost is per phrase: bench/freetext_bench.py)
FACTOR_ABOVE = 120
MAX_TOKEN_PATTERNS_PER_FORM = 400

Words = tuple[str, ...]
TokenPattern = list[dict[str, Any]]


class CompileError(ValueError):
    """A form expands to too much, or refers to something missing."""


@dataclass
class Lexicon:
    """Words collected while compiling one or more languages."""

    known: set[str] = field(default_factory=set)
    fuzzy: set[str] = field(default_factory=set)

    def add_items(self, items: Iterable[Item]) -> None:
        for item in items:
            if item.word is not None:
                self.known.update(item.word.split("_"))
                if item.fuzzy:
                    self.fuzzy.add(item.word)


@dataclass(frozen=True)
class GapForm:
    """A form matched in parts: the phrases of each part, and the most words allowed
    between one part and the next (0: the next part follows at once)."""

    parts: tuple[tuple[str, ...], ...]
    gaps: tuple[int, ...]


@dataclass(frozen=True)
class CompiledRule:
    """What one knowledge rule (a lay pattern, a context rule, a time phrase) matches."""

    rule_id: str
    phrases: tuple[str, ...]
    token_patterns: tuple[TokenPattern, ...] = ()
    gap_forms: tuple[GapForm, ...] = ()


class Compiler:
    """Compiles the forms of one language file, resolving its word classes."""

    def __init__(self, data: LanguageData, breaks: Iterable[str], lexicon: Lexicon) -> None:
        self._data = data
        self._breaks = sorted(set(breaks))
        self._lexicon = lexicon
        self._classes: dict[str, tuple[Words, ...]] = {}

    def class_values(self, name: str, seen: tuple[str, ...] = ()) -> tuple[Words, ...]:
        """Every word sequence a class stands for (classes may use other classes)."""
        if name in self._classes:
            return self._classes[name]
        if name in seen:
            raise CompileError(f"class @{name} refers to itself")
        raw = self._data.classes.get(name)
        if raw is None:
            raise CompileError(f"unknown class @{name}")
        values: list[Words] = []
        for value in raw:
            items = parse_class_value(value)
            self._lexicon.add_items(items)
            parts: list[tuple[Words, ...]] = []
            for item in items:
                if item.class_name is not None:
                    parts.append(self.class_values(item.class_name, (*seen, name)))
                else:
                    parts.append((tuple((item.word or "").split("_")),))
            for combo in itertools.product(*parts):
                values.append(tuple(w for words in combo for w in words))
        resolved = tuple(dict.fromkeys(values))
        self._classes[name] = resolved
        return resolved

    def _alternatives(self, slot: Slot) -> tuple[Words, ...]:
        self._lexicon.add_items(slot.items)
        out: list[Words] = []
        for item in slot.items:
            if item.class_name is not None:
                out.extend(self.class_values(item.class_name))
            else:
                out.append(tuple((item.word or "").split("_")))
        if slot.optional:
            out.append(())
        return tuple(dict.fromkeys(out))

    def compile(self, rule_id: str, forms: Iterable[str], gaps_as: str = "parts") -> CompiledRule:
        """Compile ``forms``; gap forms become phrase parts, or token patterns when
        ``gaps_as="tokens"`` (for ConText rules)."""
        phrases: list[str] = []
        patterns: list[TokenPattern] = []
        gap_forms: list[GapForm] = []
        for form in forms:
            slots = parse_form(form)
            if not any(slot.gap for slot in slots):
                if gaps_as == "parts" and self._size(slots) > FACTOR_ABOVE:
                    gap_forms.append(self._gap_parts(rule_id, form, slots))
                else:
                    phrases.extend(self._phrases(rule_id, form, slots))
            elif gaps_as == "tokens":
                for variant in _required_first(slots):
                    patterns.extend(self._token_patterns(rule_id, form, variant))
            else:
                gap_forms.append(self._gap_parts(rule_id, form, slots))
        return CompiledRule(
            rule_id, tuple(dict.fromkeys(phrases)), tuple(patterns), tuple(gap_forms)
        )

    def _size(self, slots: tuple[Slot, ...]) -> int:
        size = 1
        for slot in slots:
            size *= len(self._alternatives(slot))
        return size

    def _gap_parts(self, rule_id: str, form: str, slots: tuple[Slot, ...]) -> GapForm:
        """Split a form at its gaps, and each stretch between gaps into parts small
        enough to expand; a part starts at a word that is not optional."""
        stretches: list[list[Slot]] = [[]]
        for slot in slots:
            if slot.gap:
                stretches.append([])
            else:
                stretches[-1].append(slot)
        parts: list[tuple[str, ...]] = []
        gaps: list[int] = []
        for n, stretch in enumerate(stretches):
            if all(slot.optional for slot in stretch):
                raise CompileError(f"{rule_id}: {form!r}: each part around ... needs a word")
            pieces: list[list[Slot]] = []
            for slot in stretch:
                grow = pieces and (
                    slot.optional
                    or self._size((*pieces[-1], slot)) <= FACTOR_ABOVE
                    or all(s.optional for s in pieces[-1])
                )
                if grow:
                    pieces[-1].append(slot)
                else:
                    pieces.append([slot])
            for k, piece in enumerate(pieces):
                if parts:
                    gaps.append(GAP_MAX if k == 0 and n > 0 else 0)
                parts.append(tuple(dict.fromkeys(self._phrases(rule_id, form, tuple(piece)))))
        return GapForm(tuple(parts), tuple(gaps))

    def _phrases(self, rule_id: str, form: str, slots: tuple[Slot, ...]) -> list[str]:
        choices = [self._alternatives(slot) for slot in slots]
        size = 1
        for choice in choices:
            size *= len(choice)
        if size > MAX_PHRASES_PER_FORM:
            raise CompileError(f"{rule_id}: {form!r} expands to {size} phrases")
        out = []
        for combo in itertools.product(*choices):
            words = [w for part in combo for w in part]
            if words:
                out.append(" ".join(words))
        return out

    def _token_patterns(
        self, rule_id: str, form: str, slots: tuple[Slot, ...]
    ) -> list[TokenPattern]:
        # Each slot becomes one or more branches (lists of token specs); single-word
        # alternatives share one IN spec, multiword ones get branches of their own. The
        # first token of each pattern is a plain NORM value (see the module docstring).
        branches_per_slot: list[list[TokenPattern]] = []
        for slot in slots:
            if slot.gap:
                gap: dict[str, Any] = {
                    "IS_PUNCT": False,
                    "IS_SPACE": False,
                    "NORM": {"NOT_IN": self._breaks},
                    "OP": f"{{0,{GAP_MAX}}}",
                }
                branches_per_slot.append([[gap]])
                continue
            alternatives = self._alternatives(slot)
            singles = sorted({a[0] for a in alternatives if len(a) == 1})
            branches: list[TokenPattern] = []
            if singles:
                spec: dict[str, Any] = (
                    {"NORM": singles[0]} if len(singles) == 1 else {"NORM": {"IN": singles}}
                )
                if () in alternatives:
                    spec["OP"] = "?"
                branches.append([spec])
            elif () in alternatives:
                branches.append([])
            for alternative in alternatives:
                if len(alternative) > 1:
                    branches.append([{"NORM": word} for word in alternative])
            branches_per_slot.append(branches)
        patterns: list[TokenPattern] = []
        for combo in itertools.product(*branches_per_slot):
            pattern = [dict(spec) for part in combo for spec in part]
            patterns.extend(_exact_first(pattern))
            if len(patterns) > MAX_TOKEN_PATTERNS_PER_FORM:
                raise CompileError(f"{rule_id}: {form!r} expands to too many token patterns")
        return patterns


def _required_first(slots: tuple[Slot, ...]) -> list[tuple[Slot, ...]]:
    """A token pattern must start with a required word: ``my? lips ... blue`` becomes
    ``my lips ... blue`` and ``lips ... blue``."""
    if not slots or not slots[0].optional:
        return [slots]
    first = Slot(items=slots[0].items)
    rest = slots[1:]
    variants = [(first, *rest)]
    if rest and not rest[0].gap:
        variants += _required_first(rest)
    return variants


def _exact_first(pattern: TokenPattern) -> list[TokenPattern]:
    """Split a pattern whose first spec is an IN list into one pattern per value."""
    first = pattern[0]
    norm = first.get("NORM")
    if isinstance(norm, dict) and "IN" in norm:
        return [[{**first, "NORM": value}, *pattern[1:]] for value in norm["IN"]]
    return [pattern]


def language_words(data: LanguageData) -> set[str]:
    """Plain words of a language file that are not patterns (all known words)."""
    words = set(data.function_words) | set(data.filler) | set(data.known_words)
    words |= set(data.negation_bridge) | set(data.norms) | set(data.norms.values())
    words |= set(data.numbers.values) | set(data.numbers.hundreds) | set(data.numbers.join)
    words |= set(data.numbers.point) | set(data.numbers.article)
    temperature = data.temperature
    words |= set(temperature.words) | set(temperature.celsius) | set(temperature.fahrenheit)
    words |= set(temperature.degrees) | set(temperature.not_units)
    words |= set(data.time.units) | set(data.time.counts) | set(data.time.skip)
    return words
