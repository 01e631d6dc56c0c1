"""Floods through a patient link: collapse identical repeats, rate-limit the rest.

A leaked check-in link must not bury the clinic's queue. Within a window
(``NEEDLEWISE_CHECK_IN_WINDOW_MINUTES``), each submission through a patient link is,
in this order:

1. **a repeat** when the same link already sent the same answers (the same
   ``answers_sha256``), that check-in is not yet acknowledged, and it is at least as
   urgent as this one: nothing new is stored; the first one counts the repeat
   (``repeat_count``, ``last_seen_at``) and is flagged;
2. **stored** while the link has stored fewer than ``NEEDLEWISE_CHECK_IN_LINK_LIMIT``
   check-ins in the window and the patient (all links) fewer than
   ``NEEDLEWISE_CHECK_IN_PATIENT_LIMIT``;
3. past a limit, **refused** (429 with Retry-After) when an unacknowledged check-in of
   the patient in the window is at least as urgent: the clinic already has it, and it
   counts the refusal (``refused_count``) and is flagged;
4. otherwise **stored anyway, flagged**: a submission more urgent than anything the
   clinic has not yet seen is never held back by the limit.

The patient is told their own triage result every time, with 911 advice when it applies.
Staff check-ins are neither collapsed nor limited. The decisions run inside the group
commit's transaction (:mod:`needlewise.services.check_in_writer`), over the rows stored
in the window and those of the same batch, so simultaneous submissions are decided one
after another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

RANK = {"self-care": 0, "call-provider": 1, "emergency": 2}
#: what becomes of a patient-link submission
Outcome = Literal["store", "repeat", "refused"]


@dataclass(eq=False)
class Recent:
    """A check-in from a patient link in the window: stored before (``id``) or stored by
    this batch (``row``: the values still to insert; ``id`` once inserted)."""

    link: str  # created_by, e.g. link:9
    digest: str | None
    rank: int
    acknowledged: bool
    created_at: datetime
    id: int | None = None
    row: dict[str, Any] | None = None
    repeats: int = 0  # counted by this batch
    refusals: int = 0
    last_seen: datetime | None = None

    def count(self, kind: Literal["repeat", "refused"], now: datetime) -> None:
        if kind == "repeat":
            self.repeats += 1
        else:
            self.refusals += 1
        self.last_seen = now


@dataclass(frozen=True)
class Decision:
    """``store`` (``flagged`` when over the limit), ``repeat`` or ``refused`` (of
    ``target``, with ``retry_after`` seconds)."""

    kind: Outcome
    flagged: bool = False
    target: Recent | None = None
    retry_after: int | None = None


@dataclass
class Flood:
    """The recent link check-ins of the batch's patients and the limits that apply."""

    now: datetime
    window: timedelta
    link_limit: int
    patient_limit: int
    by_patient: dict[int, list[Recent]] = field(default_factory=dict)

    def add(self, patient_id: int, recent: Recent) -> None:
        self.by_patient.setdefault(patient_id, []).append(recent)

    def decide(self, patient_id: int, link: str, digest: str, disposition: str) -> Decision:
        rank = RANK[disposition]
        rows = self.by_patient.get(patient_id, [])
        for row in reversed(rows):
            if (
                row.link == link
                and row.digest == digest
                and not row.acknowledged
                and row.rank >= rank
            ):
                return Decision("repeat", target=row)
        from_link = [row for row in rows if row.link == link]
        if len(from_link) >= self.link_limit:
            counted = from_link
        elif len(rows) >= self.patient_limit:
            counted = rows
        else:
            return Decision("store")
        waiting = [row for row in rows if not row.acknowledged]
        cover = max(waiting, key=lambda row: (row.rank, row.created_at), default=None)
        if cover is None or cover.rank < rank:
            return Decision("store", flagged=True)
        oldest = min(row.created_at for row in counted)
        seconds = (oldest + self.window - self.now).total_seconds()
        return Decision("refused", target=cover, retry_after=max(1, math.ceil(seconds)))
