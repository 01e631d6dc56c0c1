"""spaCy and medspaCy, imported once, with their side effects contained.

Every module of ``nlp/`` takes spaCy names from here, so whichever is imported first,
the same guard applies:

* spaCy 3.7 imports a click helper that click 8.2+ marks deprecated (a
  ``DeprecationWarning`` at import);
* medspaCy's common matcher module calls ``warnings.filterwarnings("ignore")`` at import
  time, which would silence every warning in the process;
* PyRuSH (imported by medspaCy) logs every sentence it splits, which is patient text.

``warnings.catch_warnings`` restores the process's own warning filters after the
imports, and PyRuSH's loguru logger is disabled. spaCy 3.7 is the last version medspaCy
1.3 supports on Python 3.11 (it asks for spacy<3.8 there): see constraints.txt.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import spacy
    from loguru import logger
    from medspacy.context import ConText, ConTextRule
    from medspacy.target_matcher import TargetMatcher, TargetRule
    from spacy.lang.en.tokenizer_exceptions import TOKENIZER_EXCEPTIONS as EN_EXCEPTIONS
    from spacy.language import Language
    from spacy.matcher import PhraseMatcher
    from spacy.symbols import NORM, ORTH
    from spacy.tokens import Doc, Span

logger.disable("PyRuSH")

__all__ = [
    "EN_EXCEPTIONS",
    "NORM",
    "ORTH",
    "ConText",
    "ConTextRule",
    "Doc",
    "Language",
    "PhraseMatcher",
    "Span",
    "TargetMatcher",
    "TargetRule",
    "spacy",
]
