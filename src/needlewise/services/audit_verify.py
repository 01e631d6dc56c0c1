"""Check the audit log's hash chain (``needlewise audit verify``).

Reads every entry in id order (streaming) and recomputes its hash from its fields and
the hash stored on the entry before it (:mod:`needlewise.persistence.audit_chain`). An
entry changed in place breaks itself; an entry removed breaks the one after it; an entry
slipped in breaks itself or the one after. The check only reads, so it also runs on a
restored backup or a read-only replica, and it is not itself audited.

A chain without a secret can be rewritten whole by someone who can write the table and
recompute every hash after the entry they change. An *anchor* — an entry's id and hash
noted somewhere else earlier (the head this check reports) — catches that: the entry
must still be there with that hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from needlewise.errors import InputError
from needlewise.persistence import audit_chain
from needlewise.persistence.db import Database
from needlewise.persistence.models.audit import audit_table

MAX_LISTED = 100
_ANCHOR = re.compile(r"^([1-9][0-9]{0,18}):([0-9a-f]{64})$")


@dataclass(frozen=True)
class Anchor:
    """An entry's id and the hash it had when an operator noted it."""

    id: int
    hash: str


def parse_anchor(text: str) -> Anchor:
    """``ID:HASH`` (the head printed by an earlier check) as an :class:`Anchor`."""
    match = _ANCHOR.match(text.strip().lower())
    if match is None:
        raise InputError("give ID:HASH, an entry id and its 64-hex-digit hash", "--anchor")
    return Anchor(int(match.group(1)), match.group(2))


class EntryRef(BaseModel):
    id: int
    hash: str


class BrokenEntry(BaseModel):
    id: int
    problem: str


class ChainReport(BaseModel):
    """The outcome of a check: ``ok`` when every entry chains and the anchor holds."""

    ok: bool
    entries: int = Field(description="How many entries were checked")
    head: EntryRef | None = Field(description="The newest entry: note it to anchor a later check")
    first_broken: BrokenEntry | None
    broken: list[int] = Field(description=f"Ids of broken entries (the first {MAX_LISTED})")
    broken_count: int
    anchor: EntryRef | None = None


def verify_chain(db: Database, anchor: Anchor | None = None) -> ChainReport:
    """Check the whole chain of ``db`` (and ``anchor``, if given)."""
    breaks: list[audit_chain.Break] = []
    count, last, anchor_seen = 0, None, False
    with db.read() as tx:
        for step in audit_chain.walk(tx.connection(), audit_table()):
            count += 1
            last = step
            if step.broken is not None:
                breaks.append(step.broken)
            if anchor is not None and step.id == anchor.id:
                anchor_seen = True
                if step.hash != anchor.hash and step.broken is None:
                    problem = "its hash is not the anchored one: the log was rewritten up to here"
                    breaks.append(audit_chain.Break(step.id, problem))
    if anchor is not None and not anchor_seen:
        breaks.append(audit_chain.Break(anchor.id, "the anchored entry is missing"))
    breaks.sort(key=lambda b: b.id)
    head = EntryRef(id=last.id, hash=last.hash) if last is not None and last.hash else None
    return ChainReport(
        ok=not breaks,
        entries=count,
        head=head,
        first_broken=BrokenEntry(id=breaks[0].id, problem=breaks[0].problem) if breaks else None,
        broken=[b.id for b in breaks[:MAX_LISTED]],
        broken_count=len(breaks),
        anchor=EntryRef(id=anchor.id, hash=anchor.hash) if anchor is not None else None,
    )
