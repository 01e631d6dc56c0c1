"""``GET /api/scope/{state}``: may a profession dry-needle in a state?"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from needlewise.languages import Language
from needlewise.services.scope import lookup_scope
from needlewise.web.api.deps import Knowledge
from needlewise.web.api.schemas import ScopeOut
from needlewise.web.openapi import error_responses

router = APIRouter(prefix="/api", tags=["scope"])


@router.get(
    "/scope/{state}",
    response_model=None,
    responses={200: {"model": ScopeOut}, **error_responses(422, 500)},
)
async def scope(
    state: str,
    kb: Knowledge,
    profession: Annotated[Literal["pt", "acupuncturist", "physician"], Query()] = "pt",
    language: Annotated[Language, Query()] = "en",
) -> Any:
    """Status (allowed / not-permitted / silent / unknown), requirements, source and as-of date."""
    return lookup_scope(kb, state, profession, language).to_json()
