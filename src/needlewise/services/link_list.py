"""A patient's links as the front desk sees them: what each is for and whether it still
works (open, used, expired or cancelled), never its token.

The token of a link is shown only once, when it is made
(:func:`needlewise.services.links.create_link`); this list lets staff see which links a
patient has and cancel one (:func:`needlewise.services.links.revoke_link`). Reading it
is audited like any read of a patient's records: one ``read`` of ``patient-link`` per
link returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select

from needlewise.persistence.db import utcnow
from needlewise.persistence.models import PatientLink
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.links import SINGLE_USE, Purpose
from needlewise.services.patients import get_in_clinic
from needlewise.services.runtime import Runtime

LinkStatus = Literal["open", "used", "expired", "revoked"]
#: the most links one list shows (newest first)
MAX_LINKS = 100


class LinkRow(BaseModel):
    """One link of a patient, without its token."""

    id: int
    purpose: Purpose
    session_id: int | None
    status: LinkStatus
    created_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def status_of(link: PatientLink, now: datetime) -> LinkStatus:
    """Whether ``link`` still opens: ``revoked`` (the clinic cancelled it), ``used`` (a
    single-use intake or consent link that was sent), ``expired``, else ``open``. A
    check-in link can be used many times until it expires."""
    if link.revoked_at is not None:
        return "revoked"
    if link.purpose in SINGLE_USE and link.used_at is not None:
        return "used"
    if link.expires_at <= now:
        return "expired"
    return "open"


def patient_links(runtime: Runtime, actor: Actor, patient_id: int) -> list[LinkRow]:
    """The patient's links, newest first (at most :data:`MAX_LINKS`); 404 for a patient
    outside the actor's clinic. Audited: one read per link."""
    actor.require("patients:read")
    now = utcnow()
    with runtime.db.read() as tx:
        get_in_clinic(tx, actor, patient_id)
        rows = tx.scalars(
            select(PatientLink)
            .where(PatientLink.patient_id == patient_id)
            .order_by(PatientLink.created_at.desc(), PatientLink.id.desc())
            .limit(MAX_LINKS)
        )
        items = [
            LinkRow(
                id=link.id,
                purpose=link.purpose,
                session_id=link.session_id,
                status=status_of(link, now),
                created_by=link.created_by,
                created_at=link.created_at,
                expires_at=link.expires_at,
                used_at=link.used_at,
                revoked_at=link.revoked_at,
            )
            for link in rows
        ]
    audit.record_reads(runtime.db, actor, "patient-link", [(row.id, patient_id) for row in items])
    return items
