"""What a consent signing sends, and what the consent use cases answer
(:mod:`needlewise.services.consents`).

A signing carries the language of the text signed, the name typed by the signer, the
drawn signature (a PNG, base64, at most 200 KB decoded: checked here, before anything is
stored), who signed and any interpreter (named with their language), and optionally the
``text_sha256`` the signer was shown. Unknown fields are refused.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

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

from needlewise.languages import Language
from needlewise.services.fields import Label, Name

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_BYTES = 200 * 1024
_DATA_URL = "data:image/png;base64,"
# base64 grows 4/3; the prefix and a little whitespace on top
_MAX_SIGNATURE_CHARS = MAX_SIGNATURE_BYTES * 4 // 3 + 4 + len(_DATA_URL) + 64

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


class SigningFields(BaseModel):
    """What every signing sends (staff-witnessed or through a consent link)."""

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


class ConsentIn(SigningFields):
    """A signing witnessed by staff."""

    signer_role: SignerRole


class LinkConsentIn(SigningFields):
    """A signing through the patient's consent link (the patient or a guardian)."""

    signer_role: Literal["patient", "guardian"] = "patient"


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Label = Field(min_length=1, max_length=2000, description="One line")


class ConsentRecord(BaseModel):
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


class ConsentRecordDetail(ConsentRecord):
    """A signed consent with the exact text signed and the signature image."""

    text: str
    signature_png_base64: str
