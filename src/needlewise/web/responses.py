"""Fast JSON responses and the documented error shape."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class JsonBytes(JSONResponse):
    """``application/json`` rendered with orjson (no response-model validation cost)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ErrorDetail(BaseModel):
    """What went wrong and where (a JSON path into the request body, or a parameter name)."""

    code: str = Field(
        description="invalid-json, invalid-input, too-large, unsupported-media-type, not-found, internal"
    )
    message: str
    location: str | None = None


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body has this shape."""

    error: ErrorDetail


def error_body(code: str, message: str, location: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "location": location}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    descriptions = {
        400: "The body is empty or not valid JSON.",
        404: "Not found.",
        413: "The body is larger than NEEDLEWISE_MAX_BODY_BYTES.",
        415: "The body is not application/json or application/fhir+json.",
        422: "Valid JSON that cannot be used (wrong resource type, unknown id, bad value); the location says where.",
        500: "Internal error (a bug); no details are exposed.",
    }
    return {s: {"model": ErrorResponse, "description": descriptions[s]} for s in statuses}
