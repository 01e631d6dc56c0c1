"""``POST /api/code-session``: CPT line and checks derived from the muscles needled."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from needlewise.services.coding import SessionRequest, code_session_document
from needlewise.web.api.deps import Knowledge, ToolsUse
from needlewise.web.api.schemas import CodingOut
from needlewise.web.bodies import json_body
from needlewise.web.lean import LeanRoute
from needlewise.web.openapi import error_responses, inline_schema, request_body
from needlewise.web.responses import json_response

router = APIRouter(prefix="/api", tags=["sessions"], route_class=LeanRoute)

_BODY = request_body(
    "The muscles needled, with laterality.", inline_schema(SessionRequest.model_json_schema())
)


@router.post(
    "/code-session",
    response_model=None,
    openapi_extra=_BODY,
    responses={200: {"model": CodingOut}, **error_responses(400, 413, 415, 422, 500)},
)
async def code_session(request: Request, kb: Knowledge, _actor: ToolsUse) -> Any:
    """One CPT line per session (20560 for 1-2 muscles, 20561 for 3 or more)."""
    return json_response(code_session_document(await json_body(request), kb).to_json())
