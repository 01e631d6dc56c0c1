"""``POST /api/triage``: after-treatment triage of a check-in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.actor import Actor
from needlewise.services.triage import TriageRequest, triage_document
from needlewise.web.api.auth_deps import staff
from needlewise.web.api.common import json_response
from needlewise.web.api.deps import inline_schema, json_body, knowledge, request_body
from needlewise.web.api.schemas import TriageOut
from needlewise.web.lean import LeanRoute
from needlewise.web.responses import error_responses

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
async def triage(
    request: Request,
    kb: Annotated[KnowledgeBase, Depends(knowledge)],
    _actor: Annotated[Actor, Depends(staff("tools:use"))],
) -> Any:
    """Decide emergency / call-provider / self-care. The highest tier any reason reaches
    wins; unclear or missing input never lowers it."""
    return json_response(triage_document(await json_body(request), kb).to_json())
