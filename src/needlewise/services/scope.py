"""Use case: may this profession dry-needle in this state?"""

from __future__ import annotations

from needlewise.domain.scope import PROFESSIONS, ScopeResult, UnknownState, scope_lookup
from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.documents import check_language


def lookup_scope(
    kb: KnowledgeBase, state: str, profession: str = "pt", language: str = "en"
) -> ScopeResult:
    """Scope record for ``profession`` in ``state``; ``InputError`` for unknown inputs."""
    language = check_language(language, "language")
    if profession not in PROFESSIONS:
        raise InputError(
            f"unknown profession {profession!r}; use one of {', '.join(PROFESSIONS)}", "profession"
        )
    try:
        return scope_lookup(kb, state, profession, language)
    except UnknownState:
        raise InputError(
            f"{state!r} is not the two-letter code of a US state or DC (e.g. CO, NY, DC)", "state"
        ) from None
