"""Free-text understanding: a patient's own words -> :class:`~needlewise.domain.facts.FreeTextReading`.

``read_message(text, language, kb)`` is the only entry point. It imports spaCy and
medspaCy on first use (about a second) and builds the pipeline of the language once per
process (``reader.reader_for``), so importing this package costs nothing: the CLI stays
fast when no message has text.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from needlewise.domain.facts import FreeTextReading
    from needlewise.knowledge.base import KnowledgeBase

_BUILD_LOCK = threading.Lock()


def read_message(text: str, language: str, kb: KnowledgeBase) -> FreeTextReading:
    """Read one message in the pipeline of ``language`` (every language's words count)."""
    with _BUILD_LOCK:
        from needlewise.nlp.reader import reader_for

        reader = reader_for(language, kb)
    return reader.read(text)


def warm_up(kb: KnowledgeBase) -> None:
    """Build the reader of every supported language now (the server does it at start-up
    in a background thread; see the ``nlp_warmup`` setting)."""
    for language in kb.data.meta.languages:
        read_message("ok", language, kb)
