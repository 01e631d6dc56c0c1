"""``GET /api/knowledge`` and the generated Questionnaires."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from needlewise.interop.fhir.questionnaire import questionnaire
from needlewise.languages import Language
from needlewise.services.knowledge import summary
from needlewise.web.api.deps import Knowledge
from needlewise.web.api.schemas import KnowledgeOut
from needlewise.web.openapi import error_responses

router = APIRouter(prefix="/api", tags=["knowledge"])


@router.get(
    "/knowledge",
    response_model=None,
    responses={200: {"model": KnowledgeOut}, **error_responses(500)},
)
async def knowledge_summary(kb: Knowledge) -> Any:
    """Version, content sha256 and item counts of the knowledge base, and value-set status."""
    return summary(kb)


@router.get(
    "/questionnaires/{which}",
    response_model=None,
    responses={
        200: {"description": "A FHIR R4 Questionnaire", "content": {"application/fhir+json": {}}},
        **error_responses(422, 500),
    },
)
async def get_questionnaire(
    which: Literal["intake", "aftercare"],
    kb: Knowledge,
    language: Annotated[Language, Query()] = "en",
) -> Any:
    """The intake or aftercare Questionnaire, generated from the knowledge base."""
    return questionnaire(kb, which, language)
