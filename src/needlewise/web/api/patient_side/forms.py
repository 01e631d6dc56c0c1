"""``/api/p/{token}/…``: the patient's intake and consent forms, opened by their link.

An intake link gets the intake Questionnaire and sends the answers once; a consent link
gets the consent text and signs it once. The link is used up in the same transaction as
what it submits, so a second submission gets 410 — except a retry carrying the
``Idempotency-Key`` of the submission that used it, which gets that submission's answer.
The patient never sees the screening decision (staff review it). Every action is audited
as ``link:ID`` for the link's patient.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from needlewise.services import consents, stored_screenings
from needlewise.services.consent_models import ConsentRecord, LinkConsentIn
from needlewise.services.consent_text import ConsentText
from needlewise.services.documents import validate
from needlewise.services.idempotency import Answer, Once
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api.consents import copy_path
from needlewise.web.api.deps import (
    ConsentLink,
    ConsentSubmission,
    IntakeLink,
    IntakeSubmission,
    RuntimeDep,
)
from needlewise.web.bodies import json_body
from needlewise.web.openapi import body_doc, error_responses, request_body

router = APIRouter(prefix="/api/p", tags=["patient links"])

LINK_ERRORS = error_responses(404, 410, 422, 500)
LINK_BODY_ERRORS = error_responses(400, 404, 410, 413, 415, 422, 500)


class IntakeReceived(BaseModel):
    """The answers were stored (the screening decision is for staff only)."""

    received: Literal[True] = True


class ConsentSigned(BaseModel):
    """The consent was stored. The link is used up, so the copy comes with this answer."""

    signed: Literal[True] = True
    consent_id: int
    copy_path: str = Field(description="Where the clinic can print or send the copy")
    copy_text: str = Field(description="The patient's copy as plain text: keep or print it")


_INTAKE_BODY = request_body(
    "The patient's answers: a QuestionnaireResponse to the intake Questionnaire of "
    "GET /api/p/{token}/intake-questionnaire.",
    {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": ["QuestionnaireResponse"]}},
        "additionalProperties": True,
    },
)


@router.get(
    "/{token}/intake-questionnaire",
    response_model=None,
    responses={
        200: {"description": "A FHIR R4 Questionnaire", "content": {"application/fhir+json": {}}},
        **LINK_ERRORS,
    },
)
def intake_questionnaire(rt: RuntimeDep, token: str, actor: IntakeLink) -> Any:
    """The health questions, in the patient's preferred language."""
    return stored_screenings.intake_form(rt, actor)


@router.post(
    "/{token}/intake",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(_INTAKE_BODY),
    responses={201: {"model": IntakeReceived, "description": "Stored"}, **LINK_BODY_ERRORS},
)
async def submit_intake(
    request: Request, rt: RuntimeDep, token: str, actor: IntakeSubmission
) -> Any:
    """Send the answers (once). They are screened and stored for the clinic to review."""
    document = await json_body(request)

    async def create(
        once: Once[stored_screenings.ScreeningRecord] | None,
    ) -> stored_screenings.ScreeningRecord:
        return await run_in_threadpool(stored_screenings.submit_intake, rt, actor, document, once)

    return await idempotent.run(request, actor, document, _received, create)


def _received(_out: stored_screenings.ScreeningRecord) -> Answer:
    return Answer(201, IntakeReceived().model_dump(mode="json"))


@router.get(
    "/{token}/consent-text",
    response_model=None,
    responses={200: {"model": ConsentText}, **LINK_ERRORS},
)
def consent_text(rt: RuntimeDep, token: str, actor: ConsentLink) -> Any:
    """The consent text, in the patient's preferred language."""
    return consents.consent_text_for_link(rt, actor).model_dump(mode="json")


@router.post(
    "/{token}/consent",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(
        body_doc(
            LinkConsentIn,
            "The signing: language, typed name, drawn signature, and who signs (the patient "
            "or a parent or guardian). Send text_sha256 from the consent text you showed.",
        )
    ),
    responses={
        201: {"model": ConsentSigned, "description": "Stored"},
        **LINK_BODY_ERRORS,
        **error_responses(409),
    },
)
async def sign_consent(
    request: Request, rt: RuntimeDep, token: str, actor: ConsentSubmission
) -> Any:
    """Sign the consent (once). 409 when the text changed since it was shown."""
    document = await json_body(request)
    data = validate(LinkConsentIn, document)

    async def create(
        once: Once[tuple[ConsentRecord, str]] | None,
    ) -> tuple[ConsentRecord, str]:
        return await run_in_threadpool(consents.sign_via_link, rt, actor, data, once)

    return await idempotent.run(request, actor, document, _signed, create)


def _signed(result: tuple[ConsentRecord, str]) -> Answer:
    out, copy_text = result
    body = ConsentSigned(consent_id=out.id, copy_path=copy_path(out.id), copy_text=copy_text)
    return Answer(201, body.model_dump(mode="json"))
