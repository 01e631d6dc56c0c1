"""The ``Idempotency-Key`` header on every create (:mod:`needlewise.services.idempotency`).

A door reads the header with :func:`claim_of` (422 naming the header when unusable),
lets the service keep its answer in the record's own transaction, and answers with
:func:`run` (replaying a kept answer, or the other request's when two raced) or, for the
group-committed check-ins, :func:`needlewise.web.responses.respond`. :func:`documented`
adds the header to a route's OpenAPI operation. The header is read from the request itself (not declared as a
FastAPI parameter), so the lean routes stay lean.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request

from needlewise.errors import Conflict
from needlewise.services import idempotency
from needlewise.services.actor import Actor
from needlewise.services.idempotency import Answer, Claim, KeyTaken, Once
from needlewise.web.responses import JsonBytes, respond
from needlewise.web.state import runtime_of

T = TypeVar("T")

PARAMETER: dict[str, Any] = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request returns the first answer "
        "(same status and body) and creates nothing more; the same key with another "
        "request is 422. Keys are the caller's own and kept for NEEDLEWISE_IDEMPOTENCY_HOURS "
        "(24 h by default). Send a new random key (a UUID) per new request."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY,
               "pattern": "^[!-~]+$"},
}  # fmt: skip


def documented(openapi_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` with the ``Idempotency-Key`` header parameter added."""
    extra = dict(openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), PARAMETER]
    return extra


def claim_of(request: Request, actor: Actor, document: Any) -> Claim | None:
    """The request's claim on its ``Idempotency-Key`` (``None`` without the header)."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return None
    return idempotency.claim_for(
        runtime_of(request),
        actor,
        key,
        request.method,
        request.url.path,
        request.url.query,
        document,
    )


async def run(
    request: Request,
    actor: Actor,
    document: Any,
    render: Callable[[T], Answer],
    create: Callable[[Once[T] | None], Awaitable[T]],
) -> JsonBytes:
    """Answer a create once per key: replay the kept answer when there is one; else run
    ``create`` (which keeps ``render(result)`` in its transaction through the ``Once`` it
    is given) and answer ``render(result)``; when another request with the key committed
    first, its answer."""
    from fastapi.concurrency import run_in_threadpool

    claim = claim_of(request, actor, document)
    if claim is None:
        return respond(render(await create(None)))
    rt = runtime_of(request)
    kept = await run_in_threadpool(idempotency.replay, rt, actor, claim)
    if kept is not None:
        return respond(kept)
    try:
        result = await create(Once(claim, render))
    except KeyTaken:
        kept = await run_in_threadpool(idempotency.replay, rt, actor, claim)
        if kept is None:  # pragma: no cover - the other request committed the key
            raise Conflict("this Idempotency-Key is in use by another request") from None
        return respond(kept)
    return respond(render(result))
