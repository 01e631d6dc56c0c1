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
        description=(
            "invalid-json, invalid-input, rule-violation, unauthorized, forbidden, not-found, "
            "conflict, gone, precondition-failed, precondition-required, too-many-requests, "
            "too-large, unsupported-media-type, internal"
        )
    )
    message: str
    location: str | None = None
    rule: str | None = Field(default=None, description="For rule-violation: the rule id")
    sources: list[str] | None = Field(default=None, description="For rule-violation: its sources")
    policy: str | None = Field(
        default=None,
        description="For rule-violation: the knowledge-base policy that words the rule",
    )
    profession: str | None = Field(
        default=None, description="For a state scope rule-violation: the provider's profession"
    )
    permission: str | None = Field(default=None, description="For forbidden: the permission needed")
    retry_after: int | None = Field(
        default=None, description="For too-many-requests: seconds to wait"
    )
    current_version: int | None = Field(
        default=None, description="For precondition-failed: the record's version now"
    )


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body has this shape."""

    error: ErrorDetail


def error_body(code: str, message: str, location: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "location": location}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    descriptions = {
        400: "The body is empty or not valid JSON.",
        401: "Not logged in, or the session or token has ended.",
        403: "Your role may not do this, or the X-CSRF-Token header is missing or wrong.",
        404: "Not found.",
        409: "Conflicts with the current state (e.g. a duplicate).",
        410: "The patient link has expired, was revoked, or was already used.",
        412: "If-Match names an older version: someone changed the record first; reload it.",
        428: "Send If-Match with the ETag you read, so no edit is lost.",
        429: "Too many failed logins; wait Retry-After seconds.",
        413: "The body is larger than NEEDLEWISE_MAX_BODY_BYTES.",
        415: "The body is not application/json or application/fhir+json.",
        422: "Valid JSON that cannot be used (wrong resource type, unknown id, bad value); the location says where.",
        500: "Internal error (a bug); no details are exposed.",
    }
    return {s: {"model": ErrorResponse, "description": descriptions[s]} for s in statuses}
