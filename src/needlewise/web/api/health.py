"""``GET /healthz``: liveness, with the knowledge version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from needlewise.knowledge.base import KnowledgeBase
from needlewise.web.api.common import json_response
from needlewise.web.api.deps import knowledge
from needlewise.web.api.schemas import HealthOut
from needlewise.web.lean import LeanRoute
from needlewise.web.responses import error_responses

router = APIRouter(tags=["operations"], route_class=LeanRoute)


@router.get(
    "/healthz",
    response_model=None,
    responses={200: {"model": HealthOut}, **error_responses(500)},
)
async def healthz(kb: Annotated[KnowledgeBase, Depends(knowledge)]) -> Any:
    """The service is up and its knowledge base is loaded."""
    return json_response({"status": "ok", "knowledge": kb.version})
