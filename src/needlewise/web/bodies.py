"""Reading a JSON request body (the API, and later the CDS Hooks service).

Routes read their body themselves instead of declaring a pydantic body parameter: the
raw document is what an ``Idempotency-Key`` hashes, FHIR input is checked by our own
readers (with JSON paths in the errors), and the lean routes stay lean
(:mod:`needlewise.web.lean`). :mod:`needlewise.web.openapi` documents the bodies.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException
from pydantic import BaseModel
from starlette.requests import Request

from needlewise.services.documents import parse_json, validate
from needlewise.web.state import runtime_of

JSON_TYPES = ("application/json", "application/fhir+json")

M = TypeVar("M", bound=BaseModel)


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters (``""`` when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def body_limit(request: Request) -> int:
    """The largest body taken (``NEEDLEWISE_MAX_BODY_BYTES``)."""
    return runtime_of(request).settings.max_body_bytes


def declared_too_large(request: Request, limit: int) -> bool:
    """True when the request's ``Content-Length`` already passes ``limit``."""
    declared = request.headers.get("content-length")
    return declared is not None and declared.isdigit() and int(declared) > limit


async def json_body(request: Request) -> Any:
    """The parsed body: 415 for another media type, 413 when too large, 400 when malformed."""
    if media_type(request) not in JSON_TYPES:
        raise HTTPException(415, f"send the body as {' or '.join(JSON_TYPES)}")
    limit = body_limit(request)
    if declared_too_large(request, limit):
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return parse_json(b"".join(chunks))  # one chunk (the usual case) is not copied


async def body_of(request: Request, model: type[M]) -> M:
    """The request body parsed as JSON and validated against ``model`` (400/413/415/422)."""
    return validate(model, await json_body(request))
