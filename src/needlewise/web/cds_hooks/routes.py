"""The CDS Hooks routes: discovery, a hook call, feedback (CDS Hooks 2.0 paths).

Each route checks the caller first (:meth:`~needlewise.web.cds_hooks.door.CdsDoor.caller`:
a 401 before any body is read), then reads the body — ``application/json`` only (415),
at most ``NEEDLEWISE_MAX_BODY_BYTES`` (413, refused on ``Content-Length`` before reading,
else while streaming), strict JSON (400: malformed; 422: a repeated key, too deep, not an
object) — and calls one use case in a worker thread. The routes are lean
(:mod:`needlewise.web.lean`): the order-select path is benchmarked.

They are left out of the OpenAPI document on purpose: their contract is the CDS Hooks
specification's, documented in ``docs/cds-hooks.md``, and every call needs a JWT the
API's documented credentials cannot supply.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from needlewise.errors import InputError, Unauthorized
from needlewise.services import cds_hooks
from needlewise.services.fhir_fetch import fetcher_for
from needlewise.web.bodies import body_limit, declared_too_large, json_body
from needlewise.web.cds_hooks.door import door_of
from needlewise.web.lean import LeanRoute
from needlewise.web.responses import JsonBytes
from needlewise.web.state import runtime_of

router = APIRouter(route_class=LeanRoute, include_in_schema=False)


async def _object_body(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InputError("the request must be a JSON object", "$")
    return body


class Replayed(Unauthorized):
    """The 401 of a replayed ``jti``: the app's error handler audits it as ``replayed``
    under the client's clinic (:mod:`needlewise.web.refusals`)."""

    audit_reason = "replayed"


def replayed() -> Replayed:
    return Replayed("CDS Hooks call refused: this JWT was already used", reason="replayed")


def _refuse_declared_too_large(request: Request) -> None:
    limit = body_limit(request)
    if declared_too_large(request, limit):
        raise HTTPException(413, f"the body is larger than {limit} bytes")


@router.get("/cds-services")
async def cds_discovery(request: Request) -> Response:
    """The services this server offers (CDS Hooks discovery)."""
    door = door_of(request)
    await door.caller(request)
    runtime = runtime_of(request)
    return JsonBytes(cds_hooks.discovery(runtime.kb, door.public_base(request)))


@router.post("/cds-services/{service_id}")
async def cds_service(request: Request, service_id: str) -> Response:
    """Answer one hook call with cards."""
    _refuse_declared_too_large(request)
    door = door_of(request)
    caller = await door.caller(request)
    body = await _object_body(request)
    runtime = runtime_of(request)
    settings = runtime.settings
    fetch = fetcher_for(
        body,
        caller,
        timeout=settings.cds_fetch_timeout_seconds,
        max_bytes=settings.cds_fetch_max_bytes,
    )
    try:
        answer = await run_in_threadpool(
            cds_hooks.answer_hook,
            runtime,
            runtime.kb,
            service_id,
            body,
            caller,
            fetch,
            base_url=door.public_base(request),
        )
    except Unauthorized:  # the use case refuses a jti already used, and stores nothing
        raise replayed() from None
    return JsonBytes(answer)


@router.post("/cds-services/{service_id}/feedback")
async def cds_feedback(request: Request, service_id: str) -> Response:
    """Record what the clinician did with our cards."""
    _refuse_declared_too_large(request)
    caller = await door_of(request).caller(request)
    body = await _object_body(request)
    try:
        recorded = await run_in_threadpool(
            cds_hooks.record_feedback, runtime_of(request), service_id, body, caller
        )
    except Unauthorized:
        raise replayed() from None
    return JsonBytes({"recorded": recorded})
