"""``GET /healthz`` (liveness, with the knowledge version) and ``GET /readyz``
(readiness: the database answers, its schema is current and it takes a write)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from needlewise.errors import NotReady
from needlewise.services.readiness import check_ready
from needlewise.web.api.deps import Knowledge, RuntimeDep
from needlewise.web.api.schemas import HealthOut, ReadyOut
from needlewise.web.lean import LeanRoute
from needlewise.web.openapi import error_responses
from needlewise.web.responses import ErrorResponse, json_response

router = APIRouter(tags=["operations"], route_class=LeanRoute)


@router.get(
    "/healthz",
    response_model=None,
    responses={200: {"model": HealthOut}, **error_responses(500)},
)
async def healthz(kb: Knowledge) -> Any:
    """The service is up and its knowledge base is loaded."""
    return json_response({"status": "ok", "knowledge": kb.version})


READY_TIMEOUT_SECONDS = 5.0


@router.get(
    "/readyz",
    response_model=None,
    responses={
        200: {"model": ReadyOut},
        503: {
            "model": ErrorResponse,
            "description": "Not ready: the database cannot be used (unreachable, read-only, "
            "full: a test write failed), did not answer within 5 s, or its schema is not the "
            "one this version needs (the message says which). `Retry-After` says when to "
            "ask again.",
        },
        **error_responses(500),
    },
)
async def readyz(rt: RuntimeDep) -> Any:
    """Ready to serve: the database answers, its schema is current and it takes a write
    (one that changes nothing). Point a load balancer's readiness check here, and its
    liveness check at `/healthz`."""
    try:
        body = await asyncio.wait_for(run_in_threadpool(check_ready, rt), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        raise NotReady(f"the database did not answer within {READY_TIMEOUT_SECONDS:g} s") from None
    return json_response(body)
