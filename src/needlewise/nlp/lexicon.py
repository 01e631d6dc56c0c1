"""Find after-treatment symptoms in a patient's own words (English and Spanish).

A dictionary matcher over the knowledge base's ``terms`` with a deliberately narrow
negation check, built to fail toward escalation:

* text is compared case-, accent- and apostrophe-insensitively ("can\u2019t" = "cant");
* a term counts as **negated** only when a negation word ("no", "not", "don't",
  "without", "sin", "nunca", "ni" …) stands at most three words before it, in the same
  clause, with no "and/but/or/y/pero/o" or punctuation in between; "not sure" and
  "no sé" are uncertainty, not negation;
* everything else counts as present: "no chest pain but short of breath" finds
  shortness of breath; "I'm not sure if it's chest pain" finds chest pain.

The matcher never lowers a tier: it only adds symptoms to a report.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from needlewise.knowledge.base import KnowledgeBase

NEGATIONS = frozenset(
    {
        "no", "not", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "havent", "hasnt",
        "never", "without", "denies", "none", "nor", "sin", "nunca", "ni", "tampoco",
        "ningun", "ninguna", "ninguno", "jamas",
    }
)  # fmt: skip
UNCERTAIN_AFTER = frozenset({"sure", "certain", "seguro", "segura", "se"})
SCOPE_BREAKS = frozenset({"and", "but", "or", "y", "pero", "o", "aunque", "however", "though", "e"})
WINDOW = 3

_WORD = re.compile(r"[a-z0-9]+|[.,;:!?¿¡\n]")


def normalize(text: str) -> str:
    """Lower case, no accents, no apostrophes, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = re.sub("[\u2019'`\u00b4]", "", stripped)
    return re.sub(r"\s+", " ", stripped).strip()


def tokens(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


@dataclass(frozen=True)
class TextMatch:
    """A symptom term found in free text."""

    symptom: str
    phrase: str
    negated: bool


@dataclass(frozen=True)
class _Lexicon:
    terms: tuple[tuple[tuple[str, ...], str, str], ...]  # (term tokens, symptom id, term)


_CACHE: dict[int, tuple[KnowledgeBase, _Lexicon]] = {}


def _lexicon(kb: KnowledgeBase) -> _Lexicon:
    cached = _CACHE.get(id(kb))
    if cached is not None and cached[0] is kb:
        return cached[1]
    entries = []
    for symptom in kb.symptoms:
        for term in [*symptom.terms.en, *symptom.terms.es]:
            words = tuple(tokens(term))
            if words:
                entries.append((words, symptom.id, term))
    entries.sort(key=lambda e: -len(e[0]))  # longest terms first
    lexicon = _Lexicon(tuple(entries))
    _CACHE[id(kb)] = (kb, lexicon)
    return lexicon


def _negated(words: list[str], start: int) -> bool:
    for back in range(1, WINDOW + 1):
        i = start - back
        if i < 0:
            return False
        word = words[i]
        if word in SCOPE_BREAKS or not word.isalnum():
            return False
        if word in NEGATIONS:
            following = words[i + 1] if i + 1 < len(words) else ""
            return following not in UNCERTAIN_AFTER
    return False


def find_symptoms(text: str, kb: KnowledgeBase) -> list[TextMatch]:
    """Every symptom term in ``text`` (longest match wins where terms overlap)."""
    words = tokens(text)
    taken = [False] * len(words)
    found: list[TextMatch] = []
    for term_words, symptom_id, _term in _lexicon(kb).terms:
        size = len(term_words)
        for start in range(len(words) - size + 1):
            if words[start : start + size] != list(term_words) or any(taken[start : start + size]):
                continue
            for i in range(start, start + size):
                taken[i] = True
            found.append(TextMatch(symptom_id, " ".join(term_words), _negated(words, start)))
    found.sort(key=lambda m: m.symptom)
    return found
