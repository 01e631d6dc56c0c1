"""Provider scope by state: ``scope_lookup(kb, state, profession) -> ScopeResult``.

Returns whether a profession may perform dry needling in a US state (or DC), with the
requirements known, the source and the as-of date of the record. Where the knowledge
base holds no record for the profession in that state the status is ``unknown`` and the
result cites policy.scope-unknown: check the state board before needling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from needlewise.knowledge.base import KnowledgeBase, KnowledgeStamp
from needlewise.knowledge.schema import ProfessionInfo

PROFESSIONS: tuple[str, ...] = ("pt", "acupuncturist", "physician")


class UnknownState(ValueError):
    """Not a two-letter code of a US state or DC."""


class UnknownProfession(ValueError):
    """Not one of :data:`PROFESSIONS`."""


@dataclass(frozen=True)
class ScopeResult:
    """Scope of one profession in one state (JSON field names are a public contract)."""

    state: str
    state_name: str
    profession: str
    profession_name: str
    status: str
    may_perform: bool | None
    requirements: tuple[str, ...]
    note: str | None
    as_of: date | None
    sources: tuple[str, ...]
    evidence: str
    language: str
    knowledge: KnowledgeStamp
    citations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "state_name": self.state_name,
            "profession": self.profession,
            "profession_name": self.profession_name,
            "status": self.status,
            "may_perform": self.may_perform,
            "requirements": list(self.requirements),
            "note": self.note,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "sources": list(self.sources),
            "evidence": self.evidence,
            "language": self.language,
            "knowledge": self.knowledge.to_json(),
            "citations": dict(self.citations),
        }


_MAY_PERFORM: dict[str, bool | None] = {
    "allowed": True,
    "not-permitted": False,
    "silent": None,
    "unknown": None,
}


def _profession(kb: KnowledgeBase, code: str) -> ProfessionInfo:
    for info in kb.data.professions:
        if info.code == code:
            return info
    raise UnknownProfession(code)


def scope_lookup(
    kb: KnowledgeBase, state: str, profession: str = "pt", language: str = "en"
) -> ScopeResult:
    """Scope of ``profession`` in ``state`` (two-letter code, any case)."""
    if profession not in PROFESSIONS:
        raise UnknownProfession(profession)
    record_state = kb.state(state.strip()) if len(state.strip()) == 2 else None
    if record_state is None:
        raise UnknownState(state)
    info = _profession(kb, profession)
    record = next((r for r in record_state.scope if r.profession == profession), None)
    if record is None:
        policy = kb.policy("policy.scope-unknown")
        sources = tuple(info.sources) + tuple(policy.sources)
        return ScopeResult(
            state=record_state.code,
            state_name=record_state.title.get(language),
            profession=profession,
            profession_name=info.title.get(language),
            status="unknown",
            may_perform=None,
            requirements=(),
            note=f"{policy.explanation.get(language)} {info.note.get(language)}",
            as_of=None,
            sources=sources,
            evidence="unverified",
            language=language,
            knowledge=kb.stamp,
            citations=kb.citations(sources),
        )
    return ScopeResult(
        state=record_state.code,
        state_name=record_state.title.get(language),
        profession=profession,
        profession_name=info.title.get(language),
        status=record.status,
        may_perform=_MAY_PERFORM[record.status],
        requirements=tuple(r.get(language) for r in record.requirements),
        note=record.note.get(language) if record.note else None,
        as_of=record.as_of,
        sources=tuple(record.sources),
        evidence=record.evidence.value,
        language=language,
        knowledge=kb.stamp,
        citations=kb.citations(record.sources),
    )
