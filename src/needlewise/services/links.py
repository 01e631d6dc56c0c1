"""Patient links: signed, expiring, single-purpose links instead of patient passwords.

Staff create a link for one patient and one purpose — ``intake`` (answer the health
questions), ``consent`` (read and sign), or ``check-in`` (report how they feel after
treatment). The token in the link is the link's id signed with the server's secret key;
opening it checks the signature, the purpose, the expiry and revocation, and (for intake
and consent, which are single-use) that it was not used yet. An opened link acts as an
:class:`Actor` that can reach only its own patient.

A refused link raises :class:`LinkNotValid` (404) or :class:`LinkEnded` (410), which
carry the audit reason and, when the token's signature verified, the link's actor (its
clinic), so that the refusal is audited as the link's; nothing is taken from a token
whose signature does not verify.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from needlewise.errors import Gone, InputError, NotFound
from needlewise.languages import Language, as_language
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import Patient, PatientLink, TreatmentSession
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.patients import get_in_clinic
from needlewise.services.records import edit
from needlewise.services.runtime import Runtime

Purpose = Literal["intake", "consent", "check-in"]
SINGLE_USE: frozenset[str] = frozenset({"intake", "consent"})


class LinkNotValid(NotFound):
    """404: not a valid link for this use (tampered, unknown, or another purpose's)."""

    audit_outcome: audit.Outcome = "denied"

    def __init__(self, reason: str, link: Actor | None = None) -> None:
        super().__init__("this link is not valid")
        self.audit_reason = reason
        self.link = link


class LinkEnded(Gone):
    """410: a genuine link that expired, was cancelled, or (single use) was used."""

    audit_outcome: audit.Outcome = "refused"

    def __init__(self, message: str, reason: str, link: Actor | None = None) -> None:
        super().__init__(message)
        self.audit_reason = reason
        self.link = link


LinkRefused = (LinkNotValid, LinkEnded)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: Purpose
    session_id: int | None = Field(
        default=None, description="For check-in links: the treatment session it follows"
    )
    hours: float | None = Field(
        default=None, gt=0, le=24 * 60, description="Validity (default NEEDLEWISE_LINK_HOURS)"
    )


class LinkCreated(BaseModel):
    """A new link. ``token`` is the secret the patient gets (shown only now); where it
    is used is the door's business (the API answers with the paths it serves)."""

    id: int
    patient_id: int
    purpose: Purpose
    session_id: int | None
    token: str
    expires_at: datetime


class LinkInfo(BaseModel):
    """What the patient's side of a link needs to know about it (no other patient data)."""

    purpose: Purpose
    given_name: str
    language: str
    expires_at: datetime
    session_id: int | None


def create_link(runtime: Runtime, actor: Actor, patient_id: int, data: LinkIn) -> LinkCreated:
    actor.require("links:write")
    hours = data.hours if data.hours is not None else runtime.settings.link_hours
    with runtime.db.write() as tx:
        patient = get_in_clinic(tx, actor, patient_id)
        if data.session_id is not None:
            treatment = tx.get(TreatmentSession, data.session_id)
            if treatment is None or treatment.patient_id != patient.id:
                raise InputError(f"no session {data.session_id} for this patient", "$.session_id")
            if data.purpose != "check-in":
                raise InputError("only check-in links follow a session", "$.session_id")
        link = PatientLink(
            patient_id=patient.id,
            purpose=data.purpose,
            session_id=data.session_id,
            created_by=actor.ref,
            expires_at=utcnow() + timedelta(hours=hours),
        )
        tx.add(link)
        tx.flush()
        audit.record(tx, actor, "create", "patient-link", link.id, patient.id)
        token = runtime.signer.sign(link.id, link.purpose)
        return LinkCreated(
            id=link.id,
            patient_id=patient.id,
            purpose=data.purpose,
            session_id=link.session_id,
            token=token,
            expires_at=link.expires_at,
        )


def revoke_link(runtime: Runtime, actor: Actor, link_id: int) -> None:
    actor.require("links:write")
    with runtime.db.write() as tx:
        link = tx.get(PatientLink, link_id)
        if link is None:
            raise NotFound(f"no link {link_id}")
        get_in_clinic(tx, actor, link.patient_id)
        if link.revoked_at is None:
            link.revoked_at = utcnow()
        audit.record(tx, actor, "revoke", "patient-link", link.id, link.patient_id)


def open_link(
    runtime: Runtime, token: str, purpose: str, remote: str | None, *, allow_used: bool = False
) -> Actor:
    """The patient-link actor for ``token`` used for ``purpose``; 404 or 410 otherwise.

    ``allow_used`` opens a single-use link that was used already: for a retry carrying an
    ``Idempotency-Key``, which gets the first answer (a submission through it still gets
    410 from :func:`use_link`)."""
    signed = runtime.signer.unsign(token)
    if signed is None:
        raise LinkNotValid("invalid-link")
    link_id, signed_purpose = signed
    with runtime.db.read() as tx:
        row = tx.execute(
            select(PatientLink, Patient.clinic_id)
            .join(Patient, Patient.id == PatientLink.patient_id)
            .where(PatientLink.id == link_id)
        ).first()
    if row is None:
        raise LinkNotValid("invalid-link")
    link, clinic_id = row
    actor = Actor(
        ref=f"link:{link.id}",
        remote=remote,
        clinic_id=clinic_id,
        link_id=link.id,
        link_purpose=link.purpose,
        patient_id=link.patient_id,
        session_id=link.session_id,
    )
    if signed_purpose != purpose:
        raise LinkNotValid("wrong-purpose", actor)
    if link.revoked_at is not None:
        raise LinkEnded(
            "this link was cancelled; ask the clinic for a new one", "revoked-link", actor
        )
    if link.expires_at <= utcnow():
        raise LinkEnded(
            "this link has expired; ask the clinic for a new one", "expired-link", actor
        )
    if link.purpose in SINGLE_USE and link.used_at is not None and not allow_used:
        raise LinkEnded(
            "this link was already used; ask the clinic if you need to change something",
            "used-link",
            actor,
        )
    return actor


def use_link(tx: Session, actor: Actor) -> None:
    """Mark a single-use link used, in the same transaction as what it submitted.

    Refuses (410) when another request used it in the meantime.
    """
    if actor.link_id is None or actor.link_purpose not in SINGLE_USE:
        return
    # FOR UPDATE: two simultaneous submissions on PostgreSQL must not both get through
    # (SQLite's BEGIN IMMEDIATE already serialises writers)
    link = tx.get(PatientLink, actor.link_id, with_for_update=True, populate_existing=True)
    if link is None or link.used_at is not None:
        raise LinkEnded("this link was already used", "used-link", actor)
    link.used_at = utcnow()


def link_info(runtime: Runtime, actor: Actor) -> LinkInfo:
    """What the patient's side shows: the purpose and the patient's first name only."""
    with runtime.db.read() as tx:
        link = tx.get(PatientLink, actor.link_id or -1)
        patient = tx.get(Patient, actor.patient_id or -1)
        if link is None or patient is None:
            raise NotFound("this link is not valid")
        info = LinkInfo(
            purpose=link.purpose,
            given_name=patient.given_name,
            language=patient.preferred_language,
            expires_at=link.expires_at,
            session_id=link.session_id,
        )
    audit.record_reads(runtime.db, actor, "patient-link", [(actor.link_id, actor.patient_id)])
    return info


def set_language(runtime: Runtime, actor: Actor, language: str) -> bool:
    """Store the language the patient picked on their link as their preferred language.

    Any open link of the patient may do it (the patient's own choice, e.g. on the first
    page of the link); the clinic then writes to them, and their forms and advice come, in
    it. Returns whether the record changed; a change is audited as an ``update`` of the
    patient by ``link:ID`` (nothing is written when it is the language already stored).
    """
    chosen: Language | None = as_language(language)
    if chosen is None:
        raise InputError(f"{language[:20]!r} is not a supported language", "$.language")
    if actor.link_id is None or actor.patient_id is None:
        raise NotFound("this link is not valid")
    with edit(runtime.db, "patient") as tx:
        patient = get_in_clinic(tx, actor, actor.patient_id)
        if patient.preferred_language == chosen:
            return False
        patient.preferred_language = chosen
        tx.flush()
        audit.record(tx, actor, "update", "patient", patient.id, patient.id)
        return True
