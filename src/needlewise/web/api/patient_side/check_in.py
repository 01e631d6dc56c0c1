"""``/api/p/{token}/check-in…``: the patient's after-treatment check-in, through a
``check-in`` link (multi-use until it expires; it opens only its own patient).

The patient fetches the aftercare Questionnaire in their language, answers it, and gets
back the triage disposition with plain-language advice that says when to call 911 —
every time: when the same answers were sent before (200, ``received: repeat``) and when
too many check-ins came in a short time (429 with Retry-After, ``received: not-stored``),
the answer says so and that the clinic already has them
(:mod:`needlewise.services.check_in_flood`).

Sending a check-in is a hot path: it is on :data:`lean_router` (the lean fast path,
:mod:`needlewise.web.lean`); the Questionnaire is on :data:`router`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from needlewise.services import check_ins
from needlewise.services.check_in_form import check_in_form
from needlewise.services.check_in_models import PatientCheckInOut
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api.check_ins import CHECK_IN_BODY
from needlewise.web.api.deps import CheckInLink, RuntimeDep
from needlewise.web.bodies import json_body
from needlewise.web.lean import LeanRoute
from needlewise.web.openapi import created, error_responses
from needlewise.web.responses import ErrorResponse, respond

router = APIRouter(prefix="/api/p", tags=["patient links"])
lean_router = APIRouter(prefix="/api/p", tags=["patient links"], route_class=LeanRoute)

READ_ERRORS = error_responses(404, 410, 422, 500)
SEND_ERRORS = error_responses(400, 404, 410, 413, 415, 422, 500)
SENT = {
    **created(PatientCheckInOut),
    200: {
        "model": PatientCheckInOut,
        "description": "The same answers were sent before: not stored again (received: repeat)",
    },
    429: {
        "model": ErrorResponse,
        "description": "Too many check-ins in a short time: not stored. Besides `error` (with "
        "retry_after), the body holds every field of the 201 answer (received: not-stored, "
        "the patient's own disposition, advice and 911 instructions, notice); wait "
        "Retry-After seconds before sending new answers.",
    },
}


@router.get(
    "/{token}/check-in-questionnaire",
    response_model=None,
    responses={
        200: {"description": "A FHIR R4 Questionnaire", "content": {"application/fhir+json": {}}},
        **READ_ERRORS,
    },
)
def check_in_questionnaire(rt: RuntimeDep, token: str, actor: CheckInLink) -> Any:
    """The aftercare Questionnaire in the patient's preferred language."""
    return check_in_form(rt, actor)


@lean_router.post(
    "/{token}/check-in",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(CHECK_IN_BODY),
    responses={**SENT, **SEND_ERRORS},
)
async def send_check_in(request: Request, rt: RuntimeDep, token: str, actor: CheckInLink) -> Any:
    """Send how you feel after treatment; the answer says what to do now. The link can
    be used again until it expires; the same answers again are counted, not stored."""
    document = await json_body(request)
    claim = idempotent.claim_of(request, actor, document)
    answer = await check_ins.submit_check_in(
        rt, actor, actor.patient_id or -1, document, actor.session_id, claim
    )
    return respond(answer)
