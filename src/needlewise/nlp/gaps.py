"""Forms matched in parts: gaps (``lips ... blue``) and forms too big to expand.

spaCy's token ``Matcher`` looks at every pattern at every word, so thousands of gap
patterns cost milliseconds a message (``bench/freetext_bench.py``). Here each part of a
gap form is a set of phrases found by one PhraseMatcher (time proportional to the
message), and the parts are joined when the next part starts within the form's gap
(up to :data:`~needlewise.knowledge.schema.pattern_syntax.GAP_MAX` words at a ``...``,
none between the parts of a form split only for size), with no punctuation, clause end
or denial in between. The joined spans go into the same span group as the target
matcher's, labelled with their pattern id, before ConText runs.
"""

# no ``from __future__ import annotations``: spaCy resolves the factory's annotations
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from needlewise.nlp.compile import GapForm
from needlewise.nlp.spacy_env import Doc, Language, PhraseMatcher, Span


@dataclass(frozen=True)
class GapRule:
    """One form of one pattern id, matched in parts."""

    pattern_id: str
    form: GapForm


class GapMatcher:
    """Finds gap forms in a doc and adds them to ``span_group`` (a spaCy component)."""

    def __init__(self, nlp: Language, span_group: str, breaks: Iterable[str]) -> None:
        self._nlp = nlp
        self._group = span_group
        self._breaks = frozenset(breaks)
        self._matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        self._rules: list[GapRule] = []

    def add(self, rules: Iterable[GapRule]) -> None:
        for rule in rules:
            index = len(self._rules)
            self._rules.append(rule)
            for part, phrases in enumerate(rule.form.parts):
                docs = [self._nlp.make_doc(p) for p in phrases]
                self._matcher.add(f"gap:{index}:{part}", docs)

    def __call__(self, doc: Doc) -> Doc:
        if not self._rules:
            return doc
        found: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        strings = doc.vocab.strings
        for match_id, start, end in self._matcher(doc):
            _, rule_index, part_index = strings[match_id].split(":")
            found[(int(rule_index), int(part_index))].append((start, end))
        new: list[Span] = []
        for index, first_part in [key for key in found if key[1] == 0]:
            rule = self._rules[index]
            for start, end in found[(index, first_part)]:
                last = self._chain(doc, rule, index, end, found)
                if last is not None:
                    new.append(Span(doc, start, last, label=rule.pattern_id))
        if new:
            existing = list(doc.spans[self._group]) if self._group in doc.spans else []
            doc.spans[self._group] = existing + new
        return doc

    def _chain(
        self,
        doc: Doc,
        rule: GapRule,
        index: int,
        end: int,
        found: dict[tuple[int, int], list[tuple[int, int]]],
    ) -> int | None:
        """The end of the whole form after a first part ending at ``end``, if any."""
        for part in range(1, len(rule.form.parts)):
            most = rule.form.gaps[part - 1]
            best: tuple[int, int] | None = None
            for start, part_end in found.get((index, part), ()):
                if not end <= start <= end + most or not self._gap_ok(doc, end, start):
                    continue
                if best is None or (start, -part_end) < (best[0], -best[1]):
                    best = (start, part_end)
            if best is None:
                return None
            end = best[1]
        return end

    def _gap_ok(self, doc: Doc, start: int, end: int) -> bool:
        for token in doc[start:end]:
            if token.is_punct or token.is_space or token.norm_ in self._breaks:
                return False
        return True


@Language.factory("needlewise_gaps", default_config={"span_group": "", "breaks": []})
def make_gap_matcher(nlp: Language, name: str, span_group: str, breaks: list[str]) -> Any:
    """spaCy factory for :class:`GapMatcher` (rules are added after creation)."""
    return GapMatcher(nlp, span_group, breaks)
