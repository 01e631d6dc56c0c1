"""``/api/p/{token}/…``: the patient's intake and consent forms, opened by their link.

An intake link gets the intake Questionnaire and sends the answers once; a consent link
gets the consent text and signs it once. The link is used up in the same transaction as
what it submits, so a second submission gets 410. The patient never sees the screening
decision (staff review it). Every action is audited as ``link:ID`` for the link's patient.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from needlewise.services import consents, screenings
from needlewise.services.actor import Actor
from needlewise.services.consent_text import ConsentText
from needlewise.web.api.auth_deps import patient_link, runtime
from needlewise.web.api.common import body_doc, body_of
from needlewise.web.api.deps import json_body, request_body
from needlewise.web.responses import error_responses

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
def intake_questionnaire(
    request: Request, token: str, actor: Annotated[Actor, Depends(patient_link("intake"))]
) -> Any:
    """The health questions, in the patient's preferred language."""
    return screenings.intake_form(runtime(request), actor)


@router.post(
    "/{token}/intake",
    status_code=201,
    response_model=None,
    openapi_extra=_INTAKE_BODY,
    responses={201: {"model": IntakeReceived, "description": "Stored"}, **LINK_BODY_ERRORS},
)
async def submit_intake(
    request: Request, token: str, actor: Annotated[Actor, Depends(patient_link("intake"))]
) -> Any:
    """Send the answers (once). They are screened and stored for the clinic to review."""
    document = await json_body(request)
    await run_in_threadpool(screenings.submit_intake, runtime(request), actor, document)
    return IntakeReceived().model_dump(mode="json")


@router.get(
    "/{token}/consent-text",
    response_model=None,
    responses={200: {"model": ConsentText}, **LINK_ERRORS},
)
def consent_text(
    request: Request, token: str, actor: Annotated[Actor, Depends(patient_link("consent"))]
) -> Any:
    """The consent text, in the patient's preferred language."""
    return consents.consent_text_for_link(runtime(request), actor).model_dump(mode="json")


@router.post(
    "/{token}/consent",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(
        consents.LinkConsentIn,
        "The signing: language, typed name, drawn signature, and who signs (the patient or "
        "a parent or guardian). Send text_sha256 from the consent text you showed.",
    ),
    responses={
        201: {"model": ConsentSigned, "description": "Stored"},
        **LINK_BODY_ERRORS,
        **error_responses(409),
    },
)
async def sign_consent(
    request: Request, token: str, actor: Annotated[Actor, Depends(patient_link("consent"))]
) -> Any:
    """Sign the consent (once). 409 when the text changed since it was shown."""
    data = await body_of(request, consents.LinkConsentIn)
    out, copy_text = await run_in_threadpool(consents.sign_via_link, runtime(request), actor, data)
    return ConsentSigned(
        consent_id=out.id, copy_path=out.copy_path, copy_text=copy_text
    ).model_dump(mode="json")
