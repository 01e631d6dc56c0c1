"""Words the reader did not account for, and the language they are in.

A message whose every word is accounted for can be *understood* even without a finding;
each word left over counts against it. Words of a language we do not read (marker words
and letters from ``knowledge/data/language/unsupported.yaml``) are counted per language: when
enough of them are (``min_markers``), or any word is in a non-Latin script, the reading
names that language so the patient can be answered in one the clinic reads.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema.pattern_syntax import fold
from needlewise.nlp.spacy_env import Doc
from needlewise.nlp.tables import LanguageTables

_QUESTION_MARKS = frozenset({"?", "¿"})
NON_LATIN = "a language in a non-Latin script"


@dataclass(frozen=True)
class Markers:
    """Words (and letters) of languages we do not read -> the language's name."""

    words: dict[str, str]
    letters: dict[str, str]
    min_markers: int

    def language_of(self, written: str) -> str | None:
        """The language a word as written belongs to, if it is one of our markers."""
        found = self.words.get(fold(written))
        if found is not None:
            return found
        for char in written.casefold():
            if char in self.letters:
                return self.letters[char]
        return None


def markers_of(kb: KnowledgeBase) -> Markers:
    """The marker words and letters of every language the knowledge base names."""
    words: dict[str, str] = {}
    letters: dict[str, str] = {}
    for language in kb.data.other_languages.languages:
        for word in language.markers:
            words.setdefault(word, language.name)
        for char in language.letters:
            letters.setdefault(char, language.name)
    return Markers(words, letters, kb.data.other_languages.min_markers)


def script_is_latin(word: str) -> bool:
    """True when every letter of ``word`` is a Latin one."""
    for char in word:
        if char.isalpha() and not unicodedata.name(char, "").startswith("LATIN"):
            return False
    return True


def unknown_words(
    doc: Doc, covered: set[int], tables: LanguageTables, markers: Markers
) -> tuple[int, str | None]:
    """How many words matched nothing (tokens outside ``covered`` that are not function
    words, fillers, numbers or punctuation; an unread question counts), and the
    unsupported language they are in."""
    unknown = 0
    foreign: dict[str, int] = {}
    for token in doc:
        if token.i in covered or token.is_space:
            continue
        norm = token.norm_
        if norm in _QUESTION_MARKS:
            unknown += 1  # a question we could not read is something to answer
            continue
        if not any(c.isalnum() for c in norm):
            continue  # punctuation
        if norm in tables.function_words or norm in tables.filler:
            continue
        if norm.replace(".", "").replace(",", "").isdigit():
            continue
        unknown += 1
        if not script_is_latin(token.text):
            foreign[NON_LATIN] = foreign.get(NON_LATIN, 0) + markers.min_markers
            continue
        language = markers.language_of(token.text)
        if language is not None:
            foreign[language] = foreign.get(language, 0) + 1
    if not foreign:
        return unknown, None
    name, count = max(foreign.items(), key=lambda kv: (kv[1], kv[0]))
    return unknown, name if count >= markers.min_markers else None
