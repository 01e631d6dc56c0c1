"""Informed consents: the exact text signed, the signature, who signed, and withdrawal.

The text is the consent template of the knowledge base rendered with every risk and its
frequency (:mod:`needlewise.services.consent_text`). Signing stores that text byte for
byte, its sha256 and its version (template version + knowledge version), the typed name
and the drawn signature (a PNG), the signer (the patient, a guardian or a legal
representative) and any interpreter. A signer may send back the ``text_sha256`` they
were shown: if the text has changed since (new knowledge), signing is refused with 409
and nothing is stored.

Staff sign with a patient in the clinic (``consents:write``, a witnessed signing); a
patient signs alone through a consent link, which is then used up. A consent is never
edited; it can only be withdrawn (with ``If-Match`` and a reason). Every read and write
is audited. :func:`current_consent` is what the session rules use. What a signing sends
and what these functions answer: :mod:`needlewise.services.consent_models`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from needlewise.errors import Conflict, NotFound
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import Consent, Patient
from needlewise.services import audit, idempotency, links
from needlewise.services.actor import Actor
from needlewise.services.consent_copy import PatientCopy, SignedCopy, copy_as_text, patient_copy
from needlewise.services.consent_models import (
    ConsentIn,
    ConsentRecord,
    ConsentRecordDetail,
    LinkConsentIn,
    SigningFields,
    WithdrawIn,
)
from needlewise.services.consent_text import ConsentText, render
from needlewise.services.documents import check_language
from needlewise.services.idempotency import Once, Resource
from needlewise.services.paging import Page, PageParams
from needlewise.services.patients import get_in_clinic
from needlewise.services.records import check_version, edit
from needlewise.services.runtime import Runtime


def _out(row: Consent) -> ConsentRecord:
    return ConsentRecord(
        id=row.id,
        patient_id=row.patient_id,
        language=row.language,
        text_version=row.text_version,
        text_sha256=row.text_sha256,
        typed_name=row.typed_name,
        signer_role=row.signer_role,
        signer_name=row.signer_name,
        interpreter_name=row.interpreter_name,
        interpreter_language=row.interpreter_language,
        signed_at=row.signed_at,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
        created_by=row.created_by,
        version=row.version,
    )


def _detail(row: Consent) -> ConsentRecordDetail:
    return ConsentRecordDetail(
        **_out(row).model_dump(),
        text=row.text,
        signature_png_base64=base64.b64encode(row.signature_png).decode("ascii"),
    )


def _copy(runtime: Runtime, row: Consent) -> PatientCopy:
    return patient_copy(runtime.kb, SignedCopy.model_validate(row, from_attributes=True))


def _require_link(actor: Actor, purpose: str) -> int:
    if actor.link_id is None or actor.link_purpose != purpose or actor.patient_id is None:
        raise NotFound("this link is not valid")
    return actor.patient_id


# ------------------------------------------------------------------ the text


def consent_text(runtime: Runtime, actor: Actor, language: str) -> ConsentText:
    """The current consent text in ``language`` (not patient data: not audited)."""
    actor.require("consents:read")
    return render(runtime.kb, check_language(language))


def consent_text_for_link(runtime: Runtime, actor: Actor) -> ConsentText:
    """The consent text for a consent link, in the patient's preferred language."""
    patient_id = _require_link(actor, "consent")
    with runtime.db.read() as tx:
        language = get_in_clinic(tx, actor, patient_id).preferred_language
    audit.record_reads(runtime.db, actor, "consent-text", [(None, patient_id)])
    return render(runtime.kb, check_language(language))


# ------------------------------------------------------------------ signing


T = TypeVar("T")


def _sign(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    data: SigningFields,
    signer_role: str,
    result_of: Callable[[ConsentRecord, str], T],
    once: Once[T] | None,
) -> T:
    """Store the signing; ``result_of(consent, copy text)`` is what the caller returns
    (and, with ``once``, the answer kept in the same transaction)."""
    shown = render(runtime.kb, data.language)
    if data.text_sha256 is not None and data.text_sha256 != shown.sha256:
        raise Conflict("the consent text has changed since it was shown; show it again to sign")
    with runtime.db.write() as tx:
        patient = get_in_clinic(tx, actor, patient_id)
        if actor.link_id is not None:
            links.use_link(tx, actor)  # locks the link row: one submission wins
            audit.record(tx, actor, "use", "patient-link", actor.link_id, patient.id)
        row = Consent(
            patient_id=patient.id,
            text_version=shown.text_version,
            language=shown.language,
            text=shown.text,
            text_sha256=shown.sha256,
            typed_name=data.typed_name,
            signature_png=data.signature_png,
            signer_role=signer_role,
            signer_name=data.signer_name,
            interpreter_name=data.interpreter_name,
            interpreter_language=data.interpreter_language,
            signed_at=utcnow(),
            created_by=actor.ref,
        )
        tx.add(row)
        tx.flush()
        audit.record(tx, actor, "create", "consent", row.id, patient.id)
        result = result_of(_out(row), copy_as_text(_copy(runtime, row)))
        idempotency.keep(tx.connection(), once, result, Resource("consent", row.id, patient.id))
        return result


def _consent_only(out: ConsentRecord, _copy_text: str) -> ConsentRecord:
    return out


def _with_copy(out: ConsentRecord, copy_text: str) -> tuple[ConsentRecord, str]:
    return out, copy_text


def sign_consent(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    data: ConsentIn,
    once: Once[ConsentRecord] | None = None,
) -> ConsentRecord:
    """Store a consent signed in front of staff (``consents:write``). With ``once`` (an
    ``Idempotency-Key``), the answer is kept in the same transaction."""
    actor.require("consents:write")
    return _sign(runtime, actor, patient_id, data, data.signer_role, _consent_only, once)


def sign_via_link(
    runtime: Runtime,
    actor: Actor,
    data: LinkConsentIn,
    once: Once[tuple[ConsentRecord, str]] | None = None,
) -> tuple[ConsentRecord, str]:
    """Store a consent signed through a consent link; the link is used up in the same
    transaction. Returns the consent and the patient's copy as text (the link cannot be
    opened again to fetch it)."""
    patient_id = _require_link(actor, "consent")
    return _sign(runtime, actor, patient_id, data, data.signer_role, _with_copy, once)


# ------------------------------------------------------------------ reading


def _get(tx: Session, actor: Actor, consent_id: int) -> Consent:
    row = tx.get(Consent, consent_id)
    if row is None:
        raise NotFound(f"no consent {consent_id}")
    try:
        get_in_clinic(tx, actor, row.patient_id)
    except NotFound:
        raise NotFound(f"no consent {consent_id}") from None
    return row


def get_consent(runtime: Runtime, actor: Actor, consent_id: int) -> ConsentRecordDetail:
    """One consent with its text and signature image."""
    actor.require("consents:read")
    with runtime.db.read() as tx:
        out = _detail(_get(tx, actor, consent_id))
    audit.record_reads(runtime.db, actor, "consent", [(out.id, out.patient_id)])
    return out


def list_consents(
    runtime: Runtime, actor: Actor, page: PageParams, *, patient_id: int | None = None
) -> Page[ConsentRecord]:
    """Consents of the clinic, newest signature first."""
    actor.require("consents:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(Consent.patient_id == patient_id)
    base = select(Consent).join(Patient, Patient.id == Consent.patient_id).where(*conditions)
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = tx.scalars(
            base.order_by(Consent.signed_at.desc(), Consent.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_out(row) for row in rows]
    audit.record_reads(runtime.db, actor, "consent", [(c.id, c.patient_id) for c in items])
    return Page[ConsentRecord](items=items, total=total, limit=page.limit, offset=page.offset)


def consent_copy(runtime: Runtime, actor: Actor, consent_id: int) -> PatientCopy:
    """The patient's copy: the signed text, who signed and when, any interpreter and
    withdrawal (as data: :func:`~needlewise.services.consent_copy.copy_as_text` gives the
    plain text; the web layer renders an HTML page from it)."""
    actor.require("consents:read")
    with runtime.db.read() as tx:
        row = _get(tx, actor, consent_id)
        copy, patient_id = _copy(runtime, row), row.patient_id
    audit.record_reads(runtime.db, actor, "consent-copy", [(consent_id, patient_id)])
    return copy


class ConsentDocument(BaseModel):
    """What the printable copy of a signed consent shows (the patient's PDF and the
    clinic's are the same document): the patient's copy and the drawn signature."""

    consent_id: int
    patient_copy: PatientCopy
    signature_png_base64: str = Field(description="The drawn signature, a PNG (base64)")


def _document(runtime: Runtime, row: Consent) -> ConsentDocument:
    return ConsentDocument(
        consent_id=row.id,
        patient_copy=_copy(runtime, row),
        signature_png_base64=base64.b64encode(row.signature_png).decode("ascii"),
    )


def consent_document(runtime: Runtime, actor: Actor, consent_id: int) -> ConsentDocument:
    """The printable copy of a consent, for staff (``consents:read``; audited as a read
    of the consent copy)."""
    actor.require("consents:read")
    with runtime.db.read() as tx:
        row = _get(tx, actor, consent_id)
        document, patient_id = _document(runtime, row), row.patient_id
    audit.record_reads(runtime.db, actor, "consent-copy", [(consent_id, patient_id)])
    return document


def copy_for_link(runtime: Runtime, actor: Actor) -> ConsentDocument:
    """The printable copy of the consent signed through this consent link.

    The link is used up by the signing, so the caller opens it with ``allow_used`` (as a
    retry does): it reaches only the consent it created (``created_by`` = ``link:ID``),
    until the link expires. 404 when nothing was signed through it yet. Audited as a read
    of the consent copy by the link.
    """
    patient_id = _require_link(actor, "consent")
    with runtime.db.read() as tx:
        row = tx.scalars(
            select(Consent)
            .where(Consent.patient_id == patient_id, Consent.created_by == actor.ref)
            .order_by(Consent.id.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound("nothing was signed through this link yet")
        document = _document(runtime, row)
    audit.record_reads(runtime.db, actor, "consent-copy", [(document.consent_id, patient_id)])
    return document


# ------------------------------------------------------------------ withdrawal


def withdraw_consent(
    runtime: Runtime, actor: Actor, consent_id: int, expected_version: int, data: WithdrawIn
) -> ConsentRecord:
    """Record that the patient took back this consent (409 if already withdrawn)."""
    actor.require("consents:write")
    with edit(runtime.db, "consent") as tx:
        row = _get(tx, actor, consent_id)
        check_version("consent", row.version, expected_version)
        if row.withdrawn_at is not None:
            raise Conflict("this consent was already withdrawn")
        row.withdrawn_at = utcnow()
        row.withdrawal_reason = data.reason
        tx.flush()
        audit.record(tx, actor, "withdraw", "consent", row.id, row.patient_id)
        return _out(row)


def current_consent(tx: Session, patient_id: int) -> Consent | None:
    """The patient's latest signed consent if it is not withdrawn, else ``None``.

    A withdrawal ends consent: an older consent does not come back into force when a
    newer one is withdrawn; the patient signs again. For the session rules, inside the
    caller's transaction (not clinic-scoped or audited: the caller does that).
    """
    latest = tx.scalars(
        select(Consent)
        .where(Consent.patient_id == patient_id)
        .order_by(Consent.signed_at.desc(), Consent.id.desc())
        .limit(1)
    ).first()
    if latest is None or latest.withdrawn_at is not None:
        return None
    return latest
