"""Informed consents: the current text, staff-witnessed signing, reading, the patient's
copy and withdrawal (every read and write of a consent is audited)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from needlewise.languages import Language
from needlewise.services import consents
from needlewise.services.consent_copy import copy_as_text
from needlewise.services.consent_models import (
    ConsentIn,
    ConsentRecord,
    ConsentRecordDetail,
    WithdrawIn,
)
from needlewise.services.consent_text import ConsentText
from needlewise.services.paging import Page
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api import record_routes
from needlewise.web.api.deps import (
    ConsentsRead,
    ConsentsWrite,
    IdFilter,
    Paging,
    RecordId,
    RuntimeDep,
)
from needlewise.web.consent_copy import copy_as_html
from needlewise.web.etags import versioned
from needlewise.web.openapi import CREATE, READ, READ_ONE, UPDATE, body_doc, created, ok

router = APIRouter(tags=["consents"])
KIND = "consent"

_COPY_MEDIA = {"text": "text/plain; charset=utf-8", "html": "text/html; charset=utf-8"}


def copy_path(consent_id: int) -> str:
    """Where staff get the patient's copy of a consent (:func:`consent_copy`)."""
    return f"/api/consents/{consent_id}/copy"


class ConsentOut(ConsentRecord):
    """A signed consent (lists and writes: without the text and the signature image)."""

    copy_path: str = Field(description="Where staff get the patient's copy (text or HTML)")


class ConsentDetail(ConsentOut):
    """A signed consent with the exact text signed and the signature image."""

    text: str
    signature_png_base64: str


def consent_out(record: ConsentRecord) -> ConsentOut:
    return ConsentOut(**record.model_dump(), copy_path=copy_path(record.id))


def consent_detail(record: ConsentRecordDetail) -> ConsentDetail:
    return ConsentDetail(**record.model_dump(), copy_path=copy_path(record.id))


@router.get("/api/consents/text", response_model=None, responses={**ok(ConsentText), **READ})
def get_text(
    rt: RuntimeDep,
    actor: ConsentsRead,
    language: Annotated[Language, Query()] = "en",
) -> Any:
    """The consent text a patient signs now: the template with every risk and how often
    it happens. `text` is what is stored when they sign; show it as is."""
    return consents.consent_text(rt, actor, language).model_dump(mode="json")


@router.post(
    "/api/patients/{patient_id}/consents",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(
        body_doc(ConsentIn, "The signing: language, typed name, drawn signature, signer.")
    ),
    responses={**created(ConsentOut), **CREATE},
)
async def sign_consent(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: ConsentsWrite
) -> Any:
    """Record a consent signed in front of staff. The current text in `language` is
    stored with its sha256 and version; send `text_sha256` to be sure it is the text the
    signer read (409 if it changed). Send an `Idempotency-Key` to make a retry safe."""
    service = partial(consents.sign_consent, rt, actor, patient_id)
    return await record_routes.create_once(
        request, actor, KIND, ConsentIn, service, present=consent_out
    )


@router.get("/api/consents", response_model=None, responses={**ok(Page[ConsentOut]), **READ})
def list_consents(
    rt: RuntimeDep, page: Paging, actor: ConsentsRead, patient_id: IdFilter = None
) -> Any:
    """Consents, newest signature first (without text or signature image). Each one
    returned is recorded in the audit log."""
    found = consents.list_consents(rt, actor, page, patient_id=patient_id)
    items = [consent_out(record) for record in found.items]
    listed = Page[ConsentOut](
        items=items, total=found.total, limit=found.limit, offset=found.offset
    )
    return listed.model_dump(mode="json")


@router.get(
    "/api/consents/{consent_id}",
    response_model=None,
    responses={**ok(ConsentDetail), **READ_ONE},
)
def get_consent(rt: RuntimeDep, consent_id: RecordId, actor: ConsentsRead) -> Any:
    """One consent with the exact text signed and the signature (base64 PNG)."""
    return versioned(KIND, consent_detail(consents.get_consent(rt, actor, consent_id)))


@router.post(
    "/api/consents/{consent_id}/withdraw",
    response_model=None,
    openapi_extra=body_doc(WithdrawIn, "Why the consent is withdrawn (send If-Match)."),
    responses={**ok(ConsentOut), **UPDATE},
)
async def withdraw_consent(
    request: Request, rt: RuntimeDep, consent_id: RecordId, actor: ConsentsWrite
) -> Any:
    """Record that the patient took back this consent. Needs If-Match (428 without,
    412 when stale); 409 when it was already withdrawn."""
    service = partial(consents.withdraw_consent, rt, actor, consent_id)
    return await record_routes.change(
        request, KIND, consent_id, WithdrawIn, service, present=consent_out
    )


@router.get(
    "/api/consents/{consent_id}/copy",
    response_class=Response,
    responses={
        200: {
            "description": "The patient's copy",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
        **READ_ONE,
    },
)
def consent_copy(
    rt: RuntimeDep,
    consent_id: RecordId,
    actor: ConsentsRead,
    fmt: Annotated[Literal["text", "html"], Query(alias="format")] = "text",
) -> Response:
    """The copy to give the patient: the signed text, who signed and when, any
    interpreter, and the withdrawal if there was one. `format=html` gives a page to print
    or e-mail (`text/html; charset=utf-8`); the default is plain text."""
    copy = consents.consent_copy(rt, actor, consent_id)
    body = copy_as_html(copy) if fmt == "html" else copy_as_text(copy)
    return Response(body, media_type=_COPY_MEDIA[fmt])
