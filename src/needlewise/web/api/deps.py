"""Shared request helpers for the API routers."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.documents import parse_json

JSON_TYPES = ("application/json", "application/fhir+json")


async def knowledge(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


async def json_body(request: Request) -> Any:
    """The parsed body: 415 for another media type, 413 when too large, 400 when malformed."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES:
        raise HTTPException(415, f"send the body as {' or '.join(JSON_TYPES)}")
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return parse_json(b"".join(chunks))  # one chunk (the usual case) is not copied


def request_body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting a raw JSON request body."""
    content = {media: {"schema": schema} for media in JSON_TYPES}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` inlined (for ``openapi_extra``)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
