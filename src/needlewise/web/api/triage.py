"""``POST /api/triage``: after-treatment triage of a check-in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from needlewise.services.triage import TriageRequest, triage_document
from needlewise.web.api.deps import Knowledge, ToolsUse
from needlewise.web.api.schemas import TriageOut
from needlewise.web.bodies import json_body
from needlewise.web.lean import LeanRoute
from needlewise.web.openapi import error_responses, inline_schema, request_body
from needlewise.web.responses import json_response

router = APIRouter(prefix="/api", tags=["aftercare"], route_class=LeanRoute)

_BODY = request_body(
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


@router.post(
    "/triage",
    response_model=None,
    openapi_extra=_BODY,
    responses={200: {"model": TriageOut}, **error_responses(400, 413, 415, 422, 500)},
)
async def triage(request: Request, kb: Knowledge, _actor: ToolsUse) -> Any:
    """Decide emergency / call-provider / self-care. The highest tier any reason reaches
    wins; unclear or missing input never lowers it."""
    return json_response(triage_document(await json_body(request), kb).to_json())
