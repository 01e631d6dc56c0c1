"""Clinicians' side of stored check-ins: read one, list them (the work queue), and
acknowledge one.

Every check-in returned is audited as a read. Clinicians acknowledge a check-in
(``check-ins:acknowledge``) once; a second time is 409. The list shows a flood once: the
check-in with its ``repeat_count`` and ``refused_count``, ``flagged`` (``?flagged=true``
lists those). Recording a check-in is :mod:`needlewise.services.check_ins`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from needlewise.errors import Conflict, NotFound, PreconditionFailed, audited
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import CheckIn, Patient
from needlewise.services import audit, escalation
from needlewise.services.actor import Actor
from needlewise.services.check_in_models import CheckInOut
from needlewise.services.check_in_presenter import check_in_out
from needlewise.services.paging import Page, PageParams
from needlewise.services.records import check_version
from needlewise.services.refusals import record_refusal
from needlewise.services.runtime import Runtime

__all__ = ["acknowledge_check_in", "get_check_in", "list_check_ins"]


def _get(tx: Session, actor: Actor, check_in_id: int) -> CheckIn:
    row = tx.scalars(
        select(CheckIn)
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(CheckIn.id == check_in_id, Patient.clinic_id == actor.clinic_id)
    ).first()
    if row is None:
        raise NotFound(f"no check-in {check_in_id}")
    return row


def get_check_in(runtime: Runtime, actor: Actor, check_in_id: int) -> CheckInOut:
    actor.require("check-ins:read")
    with runtime.db.read() as tx:
        out = check_in_out(_get(tx, actor, check_in_id))
    audit.record_reads(runtime.db, actor, "check-in", [(out.id, out.patient_id)])
    return out


def list_check_ins(
    runtime: Runtime,
    actor: Actor,
    page: PageParams,
    *,
    patient_id: int | None = None,
    disposition: str | None = None,
    unacknowledged: bool | None = None,
    flagged: bool | None = None,
) -> Page[CheckInOut]:
    """Check-ins of the clinic, newest first; ``unacknowledged=true`` is the work queue
    (``false``: acknowledged ones only); ``flagged=true``: possible floods. Each one
    returned is audited."""
    actor.require("check-ins:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(CheckIn.patient_id == patient_id)
    if disposition is not None:
        conditions.append(CheckIn.disposition == disposition)
    if unacknowledged is not None:
        ack = CheckIn.acknowledged_at
        conditions.append(ack.is_(None) if unacknowledged else ack.is_not(None))
    if flagged is not None:
        conditions.append(CheckIn.flagged.is_(flagged))
    joined = select(CheckIn).join(Patient, Patient.id == CheckIn.patient_id)
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(joined.where(*conditions).subquery()))
        rows = tx.scalars(
            joined.where(*conditions)
            .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [check_in_out(row) for row in rows]
    audit.record_reads(runtime.db, actor, "check-in", [(c.id, c.patient_id) for c in items])
    return Page[CheckInOut](items=items, total=total or 0, limit=page.limit, offset=page.offset)


def acknowledge_check_in(
    runtime: Runtime, actor: Actor, check_in_id: int, expected_version: int
) -> CheckInOut:
    """Mark a check-in seen by a clinician: who (``acknowledged_by``) and when
    (``acknowledged_at``) are kept on the check-in and in the audit entry, and the
    clinic's alerts about it stop (:func:`needlewise.services.escalation.acknowledged`).
    A second acknowledgement is 409 and a stale version 412, each audited as refused."""
    actor.require("check-ins:acknowledge")
    patient_id: int | None = None
    try:
        with runtime.db.write() as tx:
            row = _get(tx, actor, check_in_id)
            patient_id = row.patient_id
            if row.acknowledged_at is not None:
                raise Conflict(
                    f"check-in {row.id} was already acknowledged (user {row.acknowledged_by}, "
                    f"{row.acknowledged_at.isoformat()})"
                )
            check_version("check-in", row.version, expected_version)
            row.acknowledged_by = actor.user_id
            row.acknowledged_at = utcnow()
            escalation.acknowledged(tx, row)  # stops the clinic's alerts about it
            tx.flush()
            audit.record(tx, actor, "acknowledge", "check-in", row.id, row.patient_id)
            return check_in_out(row)
    except StaleDataError:
        _refused(runtime, actor, check_in_id, patient_id, "already-acknowledged")
        raise audited(
            Conflict(f"check-in {check_in_id} was acknowledged by someone else")
        ) from None
    except Conflict as exc:
        _refused(runtime, actor, check_in_id, patient_id, "already-acknowledged")
        raise audited(exc) from None
    except PreconditionFailed as exc:
        _refused(runtime, actor, check_in_id, patient_id, "stale-version")
        raise audited(exc) from None


def _refused(
    runtime: Runtime, actor: Actor, check_in_id: int, patient_id: int | None, reason: str
) -> None:
    """Audit a refused acknowledgement (who tried, on which check-in, why)."""
    entry = audit.entry(
        actor, "acknowledge", "check-in", check_in_id, patient_id, "refused", reason=reason
    )
    record_refusal(runtime.db, entry)
