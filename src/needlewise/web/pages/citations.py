"""Sources as pages show them: the knowledge base's citations for a list of source ids
(templates render them with the ``source_list`` macro of ``templates/macros.html``)."""

from __future__ import annotations

from collections.abc import Iterable

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Source


def sources_of(kb: KnowledgeBase, ids: Iterable[str]) -> list[Source]:
    """The citations of ``ids``, in order, each once (an unknown id is skipped: the
    knowledge base's loader already refuses one)."""
    found: list[Source] = []
    for source_id in dict.fromkeys(ids):
        item = kb.by_id.get(source_id)
        if isinstance(item, Source):
            found.append(item)
    return found
