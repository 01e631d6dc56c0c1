"""Helpers shared by the record routers: pagination, If-Match, ETag, error docs."""

from __future__ import annotations

from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Path, Query, Request, Response
from pydantic import BaseModel

from needlewise.errors import PreconditionRequired
from needlewise.services.pages import MAX_LIMIT, PageParams
from needlewise.services.records import MAX_ID, etag, parse_if_match
from needlewise.web.responses import JsonBytes, error_responses

M = TypeVar("M", bound=BaseModel)


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100)")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="Record id")]
"""A record id in the path (out of range: 422, never a server error)."""
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional record id in the query string, e.g. ``?patient_id=``."""


def required_version(request: Request, kind: str, record_id: int) -> int:
    """The version named by ``If-Match``; 428 when the header is missing."""
    version = parse_if_match(request.headers.get("if-match"), kind, record_id)
    if version is None:
        raise PreconditionRequired(
            f"send If-Match with the ETag of the {kind} you read (e.g. {etag(kind, record_id, 1)})"
        )
    return version


def json_response(
    content: Any, status: int = 200, etag_of: tuple[str, int, int] | None = None
) -> JsonBytes:
    """The response, serialised by orjson as is.

    Returning a dict lets FastAPI walk it with ``jsonable_encoder`` first, which cost a
    quarter of a screening request; our content is already JSON-ready.
    """
    headers = {"ETag": etag(*etag_of)} if etag_of is not None else None
    return JsonBytes(content, status_code=status, headers=headers)


class VersionedOut(Protocol):
    """A record as returned by a service: its id and version make its ETag."""

    id: int
    version: int

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


def versioned(response: Response, kind: str, out: VersionedOut) -> dict[str, Any]:
    """``out`` as JSON, with its ETag (``kind``, id, version) set on ``response``:
    the value to send back in ``If-Match`` when changing the record."""
    response.headers["ETag"] = etag(kind, out.id, out.version)
    return out.model_dump(mode="json")


READ = error_responses(401, 403, 422, 500)
READ_ONE = error_responses(401, 403, 404, 422, 500)
CREATE = error_responses(400, 401, 403, 404, 409, 413, 415, 422, 500)
UPDATE = error_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500)


def ok(model: Any, description: str = "OK") -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description}}


def created(model: Any) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model, "description": "Created"}}


async def body_of(request: Request, model: type[M]) -> M:
    """The request body parsed as JSON and validated against ``model`` (400/413/415/422)."""
    from needlewise.services.documents import validate
    from needlewise.web.api.deps import json_body

    return validate(model, await json_body(request))


def body_doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body of ``model``."""
    from needlewise.web.api.deps import inline_schema, request_body

    return request_body(description, inline_schema(model.model_json_schema()))
