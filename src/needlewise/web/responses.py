"""How the web layer answers in JSON: fast responses and the documented error shape.

* :class:`JsonBytes` renders with orjson; it is the app's default response class.
* :func:`json_response` answers content that is already JSON-ready (no
  ``jsonable_encoder`` walk).
* :func:`respond` answers an :class:`~needlewise.services.idempotency.Answer` (status,
  body, ETag, Retry-After): the one place an ``ETag`` header is written (see
  :mod:`needlewise.web.etags`).
* :class:`ErrorResponse` documents every 4xx/5xx body; :func:`error_body` builds one.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from needlewise.services.idempotency import Answer


class JsonBytes(JSONResponse):
    """``application/json`` rendered with orjson (no response-model validation cost)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: Any, status: int = 200) -> JsonBytes:
    """The response, serialised by orjson as is.

    Returning a dict lets FastAPI walk it with ``jsonable_encoder`` first, which cost a
    quarter of a screening request; our content is already JSON-ready.
    """
    return JsonBytes(content, status_code=status)


def respond(answer: Answer) -> JsonBytes:
    """The HTTP response of an answer, with its ``ETag`` and ``Retry-After`` if it has them."""
    headers: dict[str, str] = {}
    if answer.etag is not None:
        headers["ETag"] = answer.etag
    if answer.retry_after is not None:
        headers["Retry-After"] = str(answer.retry_after)
    return JsonBytes(answer.body, status_code=answer.status, headers=headers or None)


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
