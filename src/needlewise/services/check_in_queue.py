"""The state of a clinic's check-in work queue, for a today list that updates itself.

The today list (``/app``) asks every few seconds whether its queue changed
(``GET /app/queue?state=...``). :func:`queue_state` answers with a short digest of what
the list shows — the waiting (unacknowledged) check-ins' ids and versions, how many
there are, and how many alerts went out for each — read without any patient data, so
an unchanged queue costs one small query and no audit entries. Only when the digest
differs does the page fetch the list again, through
:func:`needlewise.services.check_in_review.list_check_ins` (every check-in shown is
audited as a read). The page computes the digest of what it rendered with
:func:`digest`, so a check-in that arrives while the page is being built shows up at the
next poll.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import func, select

from needlewise.persistence.models import CheckIn, OutboundMessage, Patient
from needlewise.services.actor import Actor
from needlewise.services.escalation import ALERT_KINDS
from needlewise.services.runtime import Runtime

__all__ = ["digest", "queue_state"]


def digest(shown: Iterable[tuple[int, int]], total: int, sent: dict[int, int]) -> str:
    """The digest of a queue: ``shown`` (id, version) of the check-ins listed, the
    ``total`` waiting, and the alerts ``sent`` per check-in id."""
    parts = [str(total)]
    for check_in_id, version in sorted(shown):
        parts.append(f"{check_in_id}.{version}.{sent.get(check_in_id, 0)}")
    return hashlib.sha256(",".join(parts).encode()).hexdigest()[:20]


def queue_state(runtime: Runtime, actor: Actor, limit: int) -> str:
    """The digest of the clinic's waiting check-ins as the today list shows them (the
    newest ``limit``), read without patient data (nothing to audit)."""
    actor.require("check-ins:read")
    waiting = (
        select(CheckIn.id, CheckIn.version)
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(Patient.clinic_id == actor.clinic_id, CheckIn.acknowledged_at.is_(None))
    )
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(waiting.subquery())) or 0
        shown = [
            (row.id, row.version)
            for row in tx.execute(
                waiting.order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(limit)
            )
        ]
        rows = tx.execute(
            select(OutboundMessage.check_in_id, func.count())
            .where(
                OutboundMessage.check_in_id.in_([i for i, _ in shown]),
                OutboundMessage.kind.in_(ALERT_KINDS),
                OutboundMessage.state.in_(("sent", "handled")),
            )
            .group_by(OutboundMessage.check_in_id)
        )
        sent = {check_in_id: count for check_in_id, count in rows if check_in_id is not None}
    return digest(shown, total, sent)
