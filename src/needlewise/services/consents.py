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
is audited. :func:`current_consent` is what the session rules use.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from needlewise.errors import Conflict, NotFound
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import Consent, Patient
from needlewise.services import audit, idempotency, links
from needlewise.services.actor import Actor
from needlewise.services.consent_copy import PatientCopy, SignedCopy, copy_as_text, patient_copy
from needlewise.services.consent_text import ConsentText, render
from needlewise.services.documents import check_language
from needlewise.services.fields import Label, Name
from needlewise.services.idempotency import Once, Resource
from needlewise.services.pages import Page, PageParams
from needlewise.services.patients import get_in_clinic
from needlewise.services.records import check_version, edit
from needlewise.services.runtime import Runtime

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_BYTES = 200 * 1024
_DATA_URL = "data:image/png;base64,"
# base64 grows 4/3; the prefix and a little whitespace on top
_MAX_SIGNATURE_CHARS = MAX_SIGNATURE_BYTES * 4 // 3 + 4 + len(_DATA_URL) + 64

Language = Literal["en", "es"]
SignerRole = Literal["patient", "guardian", "representative"]


def _png(value: object) -> bytes:
    """A base64 PNG (optionally a ``data:image/png;base64,`` URL) -> its bytes."""
    if not isinstance(value, str):
        raise PydanticCustomError("signature", "send the signature as a base64 string")
    if len(value) > _MAX_SIGNATURE_CHARS:
        raise PydanticCustomError(
            "signature", f"the signature image is larger than {MAX_SIGNATURE_BYTES // 1024} KB"
        )
    data = value.strip()
    if data[: len(_DATA_URL)].lower() == _DATA_URL:
        data = data[len(_DATA_URL) :]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("signature", "the signature is not valid base64") from None
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise PydanticCustomError(
            "signature", f"the signature image is larger than {MAX_SIGNATURE_BYTES // 1024} KB"
        )
    if not raw.startswith(PNG_SIGNATURE) or len(raw) <= len(PNG_SIGNATURE):
        raise PydanticCustomError("signature", "the signature is not a PNG image")
    return raw


SignaturePng = Annotated[
    bytes,
    BeforeValidator(_png),
    WithJsonSchema(
        {
            "type": "string",
            "contentEncoding": "base64",
            "contentMediaType": "image/png",
            "description": "The drawn signature: a PNG, base64 (a data:image/png;base64, "
            "URL is accepted), at most 200 KB decoded",
        }
    ),
]


class _SigningFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    language: Language = Field(description="Language of the text signed")
    typed_name: Name = Field(min_length=1, max_length=200, description="Name typed by the signer")
    signature_png: SignaturePng
    signer_name: Name = Field(min_length=1, max_length=200, description="Who signed")
    interpreter_name: Name | None = Field(default=None, min_length=1, max_length=200)
    interpreter_language: Label | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        validate_default=True,
        description="Required with interpreter_name",
    )
    text_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 of the text the signer was shown; 409 if the text changed since",
    )

    @field_validator("interpreter_language")
    @classmethod
    def _interpreter_complete(cls, value: str | None, info: ValidationInfo) -> str | None:
        named = info.data.get("interpreter_name") is not None
        if named and value is None:
            raise PydanticCustomError("interpreter", "give the interpreter's language too")
        if value is not None and not named and "interpreter_name" in info.data:
            raise PydanticCustomError("interpreter", "give the interpreter's name too")
        return value


class ConsentIn(_SigningFields):
    """A signing witnessed by staff."""

    signer_role: SignerRole


class LinkConsentIn(_SigningFields):
    """A signing through the patient's consent link (the patient or a guardian)."""

    signer_role: Literal["patient", "guardian"] = "patient"


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Label = Field(min_length=1, max_length=2000, description="One line")


class ConsentOut(BaseModel):
    """A signed consent (lists and writes: without the text and the signature image)."""

    id: int
    patient_id: int
    language: str
    text_version: str
    text_sha256: str
    typed_name: str
    signer_role: SignerRole
    signer_name: str
    interpreter_name: str | None
    interpreter_language: str | None
    signed_at: datetime
    withdrawn_at: datetime | None
    withdrawal_reason: str | None
    created_by: str = Field(description="user:ID (witnessed) or link:ID (patient link)")
    version: int
    copy_path: str = Field(description="Where staff get the patient's copy (text or HTML)")


class ConsentDetail(ConsentOut):
    """A signed consent with the exact text signed and the signature image."""

    text: str
    signature_png_base64: str


def _out(row: Consent) -> ConsentOut:
    return ConsentOut(
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
        copy_path=f"/api/consents/{row.id}/copy",
    )


def _detail(row: Consent) -> ConsentDetail:
    return ConsentDetail(
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
    with runtime.db.read() as session:
        language = get_in_clinic(session, actor, patient_id).preferred_language
    audit.record_reads(runtime.db, actor, "consent-text", [(None, patient_id)])
    return render(runtime.kb, check_language(language))


# ------------------------------------------------------------------ signing


T = TypeVar("T")


def _sign(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    data: _SigningFields,
    signer_role: str,
    result_of: Callable[[ConsentOut, str], T],
    once: Once[T] | None,
) -> T:
    """Store the signing; ``result_of(consent, copy text)`` is what the caller returns
    (and, with ``once``, the answer kept in the same transaction)."""
    shown = render(runtime.kb, data.language)
    if data.text_sha256 is not None and data.text_sha256 != shown.sha256:
        raise Conflict("the consent text has changed since it was shown; show it again to sign")
    with runtime.db.write() as session:
        patient = get_in_clinic(session, actor, patient_id)
        if actor.link_id is not None:
            links.use_link(session, actor)  # locks the link row: one submission wins
            audit.record(session, actor, "use", "patient-link", actor.link_id, patient.id)
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
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "consent", row.id, patient.id)
        result = result_of(_out(row), copy_as_text(_copy(runtime, row)))
        idempotency.keep(
            session.connection(), once, result, Resource("consent", row.id, patient.id)
        )
        return result


def _consent_only(out: ConsentOut, _copy_text: str) -> ConsentOut:
    return out


def _with_copy(out: ConsentOut, copy_text: str) -> tuple[ConsentOut, str]:
    return out, copy_text


def sign_consent(
    runtime: Runtime,
    actor: Actor,
    patient_id: int,
    data: ConsentIn,
    once: Once[ConsentOut] | None = None,
) -> ConsentOut:
    """Store a consent signed in front of staff (``consents:write``). With ``once`` (an
    ``Idempotency-Key``), the answer is kept in the same transaction."""
    actor.require("consents:write")
    return _sign(runtime, actor, patient_id, data, data.signer_role, _consent_only, once)


def sign_via_link(
    runtime: Runtime,
    actor: Actor,
    data: LinkConsentIn,
    once: Once[tuple[ConsentOut, str]] | None = None,
) -> tuple[ConsentOut, str]:
    """Store a consent signed through a consent link; the link is used up in the same
    transaction. Returns the consent and the patient's copy as text (the link cannot be
    opened again to fetch it)."""
    patient_id = _require_link(actor, "consent")
    return _sign(runtime, actor, patient_id, data, data.signer_role, _with_copy, once)


# ------------------------------------------------------------------ reading


def _get(session: Session, actor: Actor, consent_id: int) -> Consent:
    row = session.get(Consent, consent_id)
    if row is None:
        raise NotFound(f"no consent {consent_id}")
    try:
        get_in_clinic(session, actor, row.patient_id)
    except NotFound:
        raise NotFound(f"no consent {consent_id}") from None
    return row


def get_consent(runtime: Runtime, actor: Actor, consent_id: int) -> ConsentDetail:
    """One consent with its text and signature image."""
    actor.require("consents:read")
    with runtime.db.read() as session:
        out = _detail(_get(session, actor, consent_id))
    audit.record_reads(runtime.db, actor, "consent", [(out.id, out.patient_id)])
    return out


def list_consents(
    runtime: Runtime, actor: Actor, page: PageParams, *, patient_id: int | None = None
) -> Page[ConsentOut]:
    """Consents of the clinic, newest signature first."""
    actor.require("consents:read")
    conditions: list[Any] = [Patient.clinic_id == actor.clinic_id]
    if patient_id is not None:
        conditions.append(Consent.patient_id == patient_id)
    base = select(Consent).join(Patient, Patient.id == Consent.patient_id).where(*conditions)
    with runtime.db.read() as session:
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.scalars(
            base.order_by(Consent.signed_at.desc(), Consent.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_out(row) for row in rows]
    audit.record_reads(runtime.db, actor, "consent", [(c.id, c.patient_id) for c in items])
    return Page[ConsentOut](items=items, total=total, limit=page.limit, offset=page.offset)


def consent_copy(runtime: Runtime, actor: Actor, consent_id: int) -> PatientCopy:
    """The patient's copy: the signed text, who signed and when, any interpreter and
    withdrawal (as data: :func:`~needlewise.services.consent_copy.copy_as_text` gives the
    plain text; the web layer renders an HTML page from it)."""
    actor.require("consents:read")
    with runtime.db.read() as session:
        row = _get(session, actor, consent_id)
        copy, patient_id = _copy(runtime, row), row.patient_id
    audit.record_reads(runtime.db, actor, "consent-copy", [(consent_id, patient_id)])
    return copy


# ------------------------------------------------------------------ withdrawal


def withdraw_consent(
    runtime: Runtime, actor: Actor, consent_id: int, expected_version: int, data: WithdrawIn
) -> ConsentOut:
    """Record that the patient took back this consent (409 if already withdrawn)."""
    actor.require("consents:write")
    with edit(runtime.db, "consent") as session:
        row = _get(session, actor, consent_id)
        check_version("consent", row.version, expected_version)
        if row.withdrawn_at is not None:
            raise Conflict("this consent was already withdrawn")
        row.withdrawn_at = utcnow()
        row.withdrawal_reason = data.reason
        session.flush()
        audit.record(session, actor, "withdraw", "consent", row.id, row.patient_id)
        return _out(row)


def current_consent(session: Session, patient_id: int) -> Consent | None:
    """The patient's latest signed consent if it is not withdrawn, else ``None``.

    A withdrawal ends consent: an older consent does not come back into force when a
    newer one is withdrawn; the patient signs again. For the session rules, inside the
    caller's transaction (not clinic-scoped or audited: the caller does that).
    """
    latest = session.scalars(
        select(Consent)
        .where(Consent.patient_id == patient_id)
        .order_by(Consent.signed_at.desc(), Consent.id.desc())
        .limit(1)
    ).first()
    if latest is None or latest.withdrawn_at is not None:
        return None
    return latest
