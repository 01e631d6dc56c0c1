"""``/api/patients/{id}/check-ins`` and ``/api/check-ins``: after-treatment check-ins, staff side.

Staff record a check-in taken by phone (the triage JSON or an aftercare
QuestionnaireResponse, as ``POST /api/triage`` takes), list the work queue
(``?unacknowledged=true&disposition=emergency``) and acknowledge one (clinicians, with
If-Match; a second acknowledgement is 409). Patients send theirs through
``/api/p/{token}/check-in``.

Recording a check-in is a hot path: it is on :data:`lean_router` (the lean fast path,
:mod:`needlewise.web.lean`); the work queue is on :data:`router`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from needlewise.services import check_in_review, check_ins
from needlewise.services.check_in_models import CheckInOut
from needlewise.services.paging import Page
from needlewise.services.records import MAX_ID
from needlewise.services.triage import TriageRequest
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api.deps import (
    CheckInsAcknowledge,
    CheckInsRead,
    CheckInsWrite,
    IdFilter,
    Paging,
    RecordId,
    RuntimeDep,
)
from needlewise.web.bodies import json_body
from needlewise.web.etags import if_match, versioned
from needlewise.web.lean import LeanRoute
from needlewise.web.openapi import (
    READ,
    READ_ONE,
    created,
    error_responses,
    inline_schema,
    ok,
    request_body,
)
from needlewise.web.responses import respond

lean_router = APIRouter(tags=["aftercare check-ins"], route_class=LeanRoute)
router = APIRouter(tags=["aftercare check-ins"])
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
ACKNOWLEDGE_ERRORS = error_responses(404, 409, 412, 422, 428, 500)


@lean_router.post(
    "/api/patients/{patient_id}/check-ins",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(CHECK_IN_BODY),
    responses={
        **created(CheckInOut),
        **error_responses(400, 404, 413, 415, 422, 500),
    },
)
async def create_check_in(
    request: Request,
    rt: RuntimeDep,
    patient_id: RecordId,
    actor: CheckInsWrite,
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
    answer = await check_ins.submit_check_in(rt, actor, patient_id, document, session_id, claim)
    return respond(answer)


@router.get("/api/check-ins", response_model=None, responses={**ok(Page[CheckInOut]), **READ})
def list_check_ins(
    rt: RuntimeDep,
    page: Paging,
    actor: CheckInsRead,
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
        rt,
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
def get_check_in(rt: RuntimeDep, check_in_id: RecordId, actor: CheckInsRead) -> Any:
    return versioned(KIND, check_in_review.get_check_in(rt, actor, check_in_id))


@router.post(
    "/api/check-ins/{check_in_id}/acknowledge",
    response_model=None,
    responses={**ok(CheckInOut), **ACKNOWLEDGE_ERRORS},
)
def acknowledge_check_in(
    request: Request, rt: RuntimeDep, check_in_id: RecordId, actor: CheckInsAcknowledge
) -> Any:
    """A clinician has seen this check-in (send If-Match; a second time is 409)."""
    version = if_match(request, KIND, check_in_id)
    return versioned(KIND, check_in_review.acknowledge_check_in(rt, actor, check_in_id, version))
