"""``/api/patients/{id}/check-ins`` and ``/api/check-ins``: after-treatment check-ins, staff side.

Staff record a check-in taken by phone (the triage JSON or an aftercare
QuestionnaireResponse, as ``POST /api/triage`` takes), list the work queue
(``?unacknowledged=true&disposition=emergency``) and acknowledge one (clinicians, with
If-Match; a second acknowledgement is 409). Patients send theirs through
``/api/p/{token}/check-in``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from needlewise.services import check_in_review, check_ins
from needlewise.services.actor import Actor
from needlewise.services.check_in_models import CheckInOut
from needlewise.services.pages import Page
from needlewise.services.records import MAX_ID
from needlewise.services.triage import TriageRequest
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api.auth_deps import runtime, staff
from needlewise.web.api.common import (
    READ,
    READ_ONE,
    IdFilter,
    Paging,
    RecordId,
    created,
    ok,
    required_version,
    versioned,
)
from needlewise.web.api.deps import inline_schema, json_body, request_body
from needlewise.web.lean import LeanRoute
from needlewise.web.responses import error_responses

router = APIRouter(tags=["aftercare check-ins"], route_class=LeanRoute)
KIND = "check-in"

CHECK_IN_BODY = request_body(
    "The triage JSON (every field optional) or an aftercare QuestionnaireResponse.",
    {
        "oneOf": [
            inline_schema(TriageRequest.model_json_schema()),
            {
                "type": "object",
                "required": ["resourceType"],
                "properties": {
                    "resourceType": {"type": "string", "enum": ["QuestionnaireResponse"]}
                },
                "additionalProperties": True,
            },
        ]
    },
)
ACKNOWLEDGE_ERRORS = error_responses(401, 403, 404, 409, 412, 422, 428, 500)


@router.post(
    "/api/patients/{patient_id}/check-ins",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(CHECK_IN_BODY),
    responses={
        **created(CheckInOut),
        **error_responses(400, 401, 403, 404, 413, 415, 422, 500),
    },
)
async def create_check_in(
    request: Request,
    patient_id: RecordId,
    actor: Annotated[Actor, Depends(staff("check-ins:write"))],
    session_id: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_ID,
            description="The session it follows (fills in the hours since treatment)",
        ),
    ] = None,
) -> Any:
    """Record a check-in taken by staff (e.g. a phone call): triaged and stored. Send an
    `Idempotency-Key` to make a retry safe."""
    document = await json_body(request)
    claim = idempotent.claim_of(request, actor, document)
    answer = await check_ins.submit_check_in(
        runtime(request), actor, patient_id, document, session_id, claim
    )
    return idempotent.respond(answer)


@router.get("/api/check-ins", response_model=None, responses={**ok(Page[CheckInOut]), **READ})
def list_check_ins(
    request: Request,
    page: Paging,
    actor: Annotated[Actor, Depends(staff("check-ins:read"))],
    patient_id: IdFilter = None,
    disposition: Annotated[
        Literal["emergency", "call-provider", "self-care"] | None, Query()
    ] = None,
    unacknowledged: Annotated[
        bool | None, Query(description="true: not yet acknowledged; false: acknowledged")
    ] = None,
    flagged: Annotated[
        bool | None,
        Query(description="true: possible floods (repeats, refused submissions counted on it)"),
    ] = None,
) -> Any:
    """Check-ins, newest first. Each one returned is recorded in the audit log."""
    return check_in_review.list_check_ins(
        runtime(request),
        actor,
        page,
        patient_id=patient_id,
        disposition=disposition,
        unacknowledged=unacknowledged,
        flagged=flagged,
    ).model_dump(mode="json")


@router.get(
    "/api/check-ins/{check_in_id}",
    response_model=None,
    responses={**ok(CheckInOut), **READ_ONE},
)
def get_check_in(
    request: Request,
    response: Response,
    check_in_id: RecordId,
    actor: Annotated[Actor, Depends(staff("check-ins:read"))],
) -> Any:
    out = check_in_review.get_check_in(runtime(request), actor, check_in_id)
    return versioned(response, KIND, out)


@router.post(
    "/api/check-ins/{check_in_id}/acknowledge",
    response_model=None,
    responses={**ok(CheckInOut), **ACKNOWLEDGE_ERRORS},
)
def acknowledge_check_in(
    request: Request,
    response: Response,
    check_in_id: RecordId,
    actor: Annotated[Actor, Depends(staff("check-ins:acknowledge"))],
) -> Any:
    """A clinician has seen this check-in (send If-Match; a second time is 409)."""
    version = required_version(request, KIND, check_in_id)
    out = check_in_review.acknowledge_check_in(runtime(request), actor, check_in_id, version)
    return versioned(response, KIND, out)
