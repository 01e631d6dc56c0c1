"""The folding tokenizer: spaCy's tokenizer for the language, then each word's norm
folded (case, accents), common texting forms read as words ("u" -> "you", "q" -> "que")
and misspellings read as vocabulary words (:mod:`needlewise.nlp.spelling`).

English contractions ("can't", "dont", "I'm") split the same in every language
(:func:`add_contractions`), so "can't" reads the same in a Spanish message. A word read
as another is remembered in ``Doc.user_data[READ_AS]`` so a mention can say how it was
read. Imported with spaCy (:mod:`needlewise.nlp.pipeline`), never on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from needlewise.knowledge.schema.pattern_syntax import fold
from needlewise.nlp.spacy_env import EN_EXCEPTIONS, NORM, ORTH, Doc
from needlewise.nlp.spelling import SpellingCorrector

READ_AS = "needlewise_read_as"  # Doc.user_data key: {token index: the word as written}
_INNER_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")


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


def add_contractions(tokenizer: Any) -> None:
    """English contractions ("can't", "dont", "I'm") split the same in every language."""
    for orth, pieces in EN_EXCEPTIONS.items():
        if len(pieces) > 1 and all(ORTH in p for p in pieces):
            specs = [{ORTH: p[ORTH], **({NORM: p[NORM]} if NORM in p else {})} for p in pieces]
            tokenizer.add_special_case(orth, specs)
