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


def _negated(words: list[str], start: int, in_terms: list[bool]) -> bool:
    for back in range(1, WINDOW + 1):
        i = start - back
        if i < 0:
            return False
        word = words[i]
        if word in SCOPE_BREAKS or not word.isalnum():
            return False
        if word in NEGATIONS and not in_terms[i]:
            following = words[i + 1] if i + 1 < len(words) else ""
            return following not in UNCERTAIN_AFTER
    return False


def find_symptoms(text: str, kb: KnowledgeBase) -> list[TextMatch]:
    """Every symptom mentioned in ``text``, once per symptom.

    Terms of different symptoms may overlap ("chest pain getting worse" is both chest
    pain and pain getting worse): all of them match, so the higher tier wins. A word
    that belongs to a matched term ("no" in "no energy") never negates another term.
    """
    words = tokens(text)
    spans: list[tuple[int, int, str]] = []
    for term_words, symptom_id, _term in _lexicon(kb).terms:
        size = len(term_words)
        first = term_words[0]
        for start in range(len(words) - size + 1):
            if words[start] == first and tuple(words[start : start + size]) == term_words:
                spans.append((start, size, symptom_id))
    in_terms = [False] * len(words)
    for start, size, _symptom in spans:
        for i in range(start, start + size):
            in_terms[i] = True
    best: dict[str, TextMatch] = {}
    for start, size, symptom_id in spans:
        match = TextMatch(
            symptom_id, " ".join(words[start : start + size]), _negated(words, start, in_terms)
        )
        current = best.get(symptom_id)
        # a mention that is not negated wins over a negated one (escalate when in doubt)
        if current is None or (current.negated and not match.negated):
            best[symptom_id] = match
    return sorted(best.values(), key=lambda m: m.symptom)
