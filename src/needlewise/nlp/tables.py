"""Word sets the reader needs (function words, fillers, past-tense words, denials,
contrasts, list words, negation bridges), merged over every supported language from the
knowledge base's language files. Plain data: no spaCy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from needlewise.knowledge.schema.language import LanguageData


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


def language_tables(datas: Iterable[LanguageData], negation_words: set[str]) -> LanguageTables:
    """The word sets of ``datas``; ``negation_words`` are the one-word denials."""
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
