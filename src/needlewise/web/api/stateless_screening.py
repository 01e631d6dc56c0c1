"""``POST /api/screen``: contraindication screening from FHIR R4 input."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from needlewise.languages import Language
from needlewise.services.stateless_screening import screen_document
from needlewise.web.api.deps import Knowledge, ToolsUse
from needlewise.web.api.schemas import ScreeningOut
from needlewise.web.bodies import json_body
from needlewise.web.lean import LeanRoute
from needlewise.web.openapi import error_responses, request_body
from needlewise.web.responses import json_response

router = APIRouter(prefix="/api", tags=["screening"], route_class=LeanRoute)

#: The JSON Schema of what screening reads (checked fully by the use case, which names the
#: JSON path of any problem): a Bundle or an intake QuestionnaireResponse.
SCREENING_DOCUMENT: dict[str, object] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string", "enum": ["Bundle", "QuestionnaireResponse"]}},
    "additionalProperties": True,
}

_BODY = request_body(
    "A FHIR R4 Bundle (collection, searchset, transaction, batch or document) with Patient, "
    "Condition, AllergyIntolerance, MedicationStatement/Request, Observation and Procedure "
    "resources; an intake QuestionnaireResponse; or a Bundle holding both.",
    SCREENING_DOCUMENT,
)


@router.post(
    "/screen",
    response_model=None,
    openapi_extra=_BODY,
    responses={200: {"model": ScreeningOut}, **error_responses(400, 413, 415, 422, 500)},
)
async def screen(
    request: Request,
    kb: Knowledge,
    _actor: ToolsUse,
    electrical_stimulation: Annotated[
        bool | None, Query(description="Is electrical stimulation planned? Omit when not known.")
    ] = None,
    as_of: Annotated[date | None, Query(description="Screening date (default today)")] = None,
    language: Annotated[Language, Query()] = "en",
) -> Any:
    """Screen one patient. `eligible` only when every required question is answered and
    nothing fired; any absolute finding gives `not-eligible`; otherwise `review`."""
    document = await json_body(request)
    result = screen_document(
        document, kb, as_of=as_of, electrical_stimulation=electrical_stimulation, language=language
    )
    return json_response(result.to_json())
