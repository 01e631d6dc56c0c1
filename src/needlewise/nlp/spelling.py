"""Read a misspelled word as the vocabulary word it was meant to be ("breth" -> "breath").

Only words marked ``~`` in the lay vocabulary are targets, and a word the vocabulary
already knows (a function word, a trigger, any pattern word, a listed known word such as
"breast" or "never") is never corrected: a misspelling is an *unknown* word within one
edit of a target (two for targets of 10 or more letters; a swap of two neighbouring
letters counts as one edit) that is not simply the target with an ending added or
dropped ("fluids", "swelled": another word, not a misspelling). Ties go to the alphabetically first target, so a reading
is repeatable. The distance is rapidfuzz's optimal string alignment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

MIN_LENGTH = 4  #: shorter words are never corrected
#: a word that is a target plus (or minus) one of these is an inflection, not a misspelling
_SUFFIXES = ("s", "es", "ed", "d", "ing", "ly", "er", "y", "n", "ness")
LONG_TARGET = 10  #: targets this long allow two edits
_CACHE_LIMIT = 50_000


def max_edits(target: str) -> int:
    return 2 if len(target) >= LONG_TARGET else 1


def _inflection(word: str, target: str) -> bool:
    """ "fluids" is not a misspelling of "fluid", nor "breather" of "breathe"."""
    longer, shorter = (word, target) if len(word) > len(target) else (target, word)
    return any(longer == shorter + suffix for suffix in _SUFFIXES)


class SpellingCorrector:
    """Corrects unknown words to the nearest ``~`` target (memoised per process)."""

    def __init__(self, targets: Iterable[str], known: Iterable[str]) -> None:
        self._known = frozenset(known)
        by_length: dict[int, list[str]] = defaultdict(list)
        for target in sorted(set(targets)):
            by_length[len(target)].append(target)
        self._by_length = dict(by_length)
        self._cache: dict[str, str | None] = {}

    def correct(self, word: str) -> str | None:
        """The target ``word`` was meant to be, or ``None`` (known, or nothing close)."""
        if len(word) < MIN_LENGTH or word in self._known or not word.isalpha():
            return None
        cached = self._cache.get(word, "")
        if cached != "":
            return cached
        best: tuple[int, str] | None = None
        for length in range(len(word) - 2, len(word) + 3):
            choices = self._by_length.get(length)
            if not choices:
                continue
            found = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=2)
            if found is None:
                continue
            target, distance, _ = found
            if _inflection(word, target):
                continue
            if distance <= max_edits(target) and (best is None or (distance, target) < best):
                best = (int(distance), target)
        result = best[1] if best is not None else None
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[word] = result
        return result
