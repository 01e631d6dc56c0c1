"""Session coding: ``code_session(session, kb) -> CodingResult``.

One CPT line per session, chosen by the number of **distinct muscles** needled
(1-2 → 20560, 3 or more → 20561, from ``billing.yaml``): the code is derived from the
muscles, never typed. A muscle needled on both sides counts once; because how payers
count bilateral muscles is not confirmed, the result is flagged for review when
counting each side would change the code (policy.bilateral-count-unverified).

The result also carries the coverage notes for the payer, the documentation payers ask
for, and session checks: muscles over the lung on both sides in one session
(policy.bilateral-near-lung, BN121), the pneumothorax safety net
(policy.near-lung-safety-net) and muscles that cannot be compressed
(policy.non-compressible-muscle). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from needlewise.domain.facts import SessionRecord
from needlewise.knowledge.base import KnowledgeBase, KnowledgeStamp
from needlewise.knowledge.schema import BillingCode, Muscle


class SessionError(ValueError):
    """The session cannot be coded (no muscles, unknown muscle id)."""


@dataclass(frozen=True)
class BillingLine:
    """The one CPT line of a session."""

    code: str
    system: str
    display: str
    title: str
    units: int
    muscle_count: int
    billing_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "system": self.system,
            "display": self.display,
            "title": self.title,
            "units": self.units,
            "muscle_count": self.muscle_count,
            "billing_id": self.billing_id,
        }


@dataclass(frozen=True)
class Note:
    """A coverage note, documentation item or session check, localized."""

    id: str
    title: str
    text: str
    sources: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class CodingResult:
    """Billing line, coverage notes, documentation checklist and session checks."""

    lines: tuple[BillingLine, ...]
    muscles: tuple[dict[str, str], ...]
    checks: tuple[Note, ...]
    coverage: tuple[Note, ...]
    documentation: tuple[Note, ...]
    needs_review: bool
    language: str
    knowledge: KnowledgeStamp
    citations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": [line.to_json() for line in self.lines],
            "muscles": [dict(m) for m in self.muscles],
            "checks": [c.to_json() for c in self.checks],
            "needs_review": self.needs_review,
            "coverage": [c.to_json() for c in self.coverage],
            "documentation": [d.to_json() for d in self.documentation],
            "language": self.language,
            "knowledge": self.knowledge.to_json(),
            "citations": dict(self.citations),
        }


def billing_code_for(count: int, kb: KnowledgeBase) -> BillingCode:
    """The billing code whose muscle range holds ``count`` (1 or more)."""
    for code in kb.data.billing.codes:
        if count >= code.min_muscles and (code.max_muscles is None or count <= code.max_muscles):
            return code
    raise SessionError(f"no billing code covers {count} muscle(s)")


def _policy_note(kb: KnowledgeBase, policy_id: str, language: str, detail: str) -> Note:
    policy = kb.policy(policy_id)
    text = policy.explanation.get(language) + (f" ({detail})" if detail else "")
    return Note(policy.id, policy.title.get(language), text, tuple(policy.sources))


def code_session(session: SessionRecord, kb: KnowledgeBase) -> CodingResult:
    """Derive the CPT line and the checks for one session."""
    language = session.language
    if not session.muscles:
        raise SessionError("a session needs at least one needled muscle")
    muscles: dict[str, Muscle] = {}
    sides: dict[str, set[str]] = {}
    for needled in session.muscles:
        muscle = kb.muscle(needled.muscle)
        if muscle is None:
            raise SessionError(f"unknown muscle {needled.muscle!r}")
        muscles[muscle.id] = muscle
        both = {"left", "right"} if needled.laterality == "bilateral" else {needled.laterality}
        sides.setdefault(muscle.id, set()).update(both)

    distinct = len(muscles)
    per_side = sum(len(s & {"left", "right"}) or 1 for s in sides.values())
    code = billing_code_for(distinct, kb)
    line = BillingLine(
        code=code.code.code,
        system=code.code.system,
        display=code.code.display,
        title=code.title.get(language),
        units=1,
        muscle_count=distinct,
        billing_id=code.id,
    )

    checks: list[Note] = []
    needs_review = False
    if billing_code_for(per_side, kb).id != code.id:
        needs_review = True
        detail = f"{distinct} distinct, {per_side} counting each side"
        checks.append(_policy_note(kb, "policy.bilateral-count-unverified", language, detail))
    # a muscle whose nearness to the lung is not confirmed counts as near it (the safe
    # reading), and its name says so
    near = {mid: m for mid, m in muscles.items() if m.lung_risk}
    lung_sides: set[str] = set().union(*(sides[mid] for mid in near)) if near else set()
    names = ", ".join(
        m.title.get(language) + (" (not confirmed)" if m.near_lung == "unknown" else "")
        for m in near.values()
    )
    if {"left", "right"} <= lung_sides:
        needs_review = True
        checks.append(_policy_note(kb, "policy.bilateral-near-lung", language, names))
    if lung_sides:
        checks.append(_policy_note(kb, "policy.near-lung-safety-net", language, names))
    # answers that can change between the intake form and the visit (an acute illness)
    again = [c.title.get(language) for c in kb.contraindications if c.ask_again_at_visit]
    if again:
        checks.append(_policy_note(kb, "policy.ask-again-at-visit", language, "; ".join(again)))
    deep = [m.title.get(language) for m in muscles.values() if not m.compressible]
    if deep:
        checks.append(_policy_note(kb, "policy.non-compressible-muscle", language, ", ".join(deep)))

    payer = session.payer
    coverage = tuple(
        Note(c.id, c.title.get(language), c.text.get(language), tuple(c.sources))
        for c in kb.data.billing.coverage
        if payer is None or c.payer in (payer, "any")
    )
    documentation = tuple(
        Note(d.id, "", d.text.get(language), tuple(d.sources))
        for d in kb.data.billing.documentation
    )
    listed = tuple(
        {"muscle": mid, "title": m.title.get(language), "laterality": "+".join(sorted(sides[mid]))}
        for mid, m in muscles.items()
    )
    cited = list(code.sources)
    for note in (*checks, *coverage, *documentation):
        cited.extend(note.sources)
    return CodingResult(
        lines=(line,),
        muscles=listed,
        checks=tuple(checks),
        coverage=coverage,
        documentation=documentation,
        needs_review=needs_review,
        language=language,
        knowledge=kb.stamp,
        citations=kb.citations(cited),
    )
