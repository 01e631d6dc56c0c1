"""``/api/patients/{id}/adverse-events`` and ``/api/adverse-events``: adverse events.

``event_type`` is a risk id of the knowledge base (``risk.pneumothorax`` …); anything else
is 422 at ``$.event_type``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from needlewise.services import adverse_events
from needlewise.services.actor import Actor
from needlewise.services.documents import validate
from needlewise.services.idempotency import Answer, Once
from needlewise.services.pages import Page
from needlewise.services.records import etag
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api.auth_deps import runtime, staff
from needlewise.web.api.common import (
    CREATE,
    READ,
    READ_ONE,
    UPDATE,
    IdFilter,
    Paging,
    RecordId,
    body_doc,
    body_of,
    created,
    ok,
    required_version,
    versioned,
)
from needlewise.web.api.deps import json_body

router = APIRouter(tags=["adverse events"])
KIND = "adverse-event"


@router.post(
    "/api/patients/{patient_id}/adverse-events",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(
        body_doc(adverse_events.AdverseEventIn, "The adverse event.")
    ),
    responses={**created(adverse_events.AdverseEventOut), **CREATE},
)
async def create_adverse_event(
    request: Request,
    patient_id: RecordId,
    actor: Annotated[Actor, Depends(staff("adverse-events:write"))],
) -> Any:
    """Record an adverse event (clinicians), optionally linked to this patient's session.
    Send an `Idempotency-Key` to make a retry safe."""
    document = await json_body(request)
    data = validate(adverse_events.AdverseEventIn, document)
    rt = runtime(request)

    async def create(
        once: Once[adverse_events.AdverseEventOut] | None,
    ) -> adverse_events.AdverseEventOut:
        return await run_in_threadpool(
            adverse_events.create_adverse_event, rt, actor, patient_id, data, once
        )

    return await idempotent.run(request, actor, document, _created, create)


def _created(out: adverse_events.AdverseEventOut) -> Answer:
    return Answer(201, out.model_dump(mode="json"), etag(KIND, out.id, out.version))


@router.get(
    "/api/adverse-events",
    response_model=None,
    responses={**ok(Page[adverse_events.AdverseEventOut]), **READ},
)
def list_adverse_events(
    request: Request,
    page: Paging,
    actor: Annotated[Actor, Depends(staff("adverse-events:read"))],
    patient_id: IdFilter = None,
    serious: Annotated[bool | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Onset at or after (no zone: UTC)")] = None,
) -> Any:
    """Adverse events, newest onset first. Each one returned is recorded in the audit log."""
    return adverse_events.list_adverse_events(
        runtime(request), actor, page, patient_id=patient_id, serious=serious, since=since
    ).model_dump(mode="json")


@router.get(
    "/api/adverse-events/{event_id}",
    response_model=None,
    responses={**ok(adverse_events.AdverseEventOut), **READ_ONE},
)
def get_adverse_event(
    request: Request,
    response: Response,
    event_id: RecordId,
    actor: Annotated[Actor, Depends(staff("adverse-events:read"))],
) -> Any:
    out = adverse_events.get_adverse_event(runtime(request), actor, event_id)
    return versioned(response, KIND, out)


@router.patch(
    "/api/adverse-events/{event_id}",
    response_model=None,
    openapi_extra=body_doc(adverse_events.AdverseEventPatch, "Fields to change (send If-Match)."),
    responses={**ok(adverse_events.AdverseEventOut), **UPDATE},
)
async def patch_adverse_event(
    request: Request,
    response: Response,
    event_id: RecordId,
    actor: Annotated[Actor, Depends(staff("adverse-events:write"))],
) -> Any:
    """Change an adverse event (e.g. its outcome once resolved). A stale If-Match gets 412."""
    data = await body_of(request, adverse_events.AdverseEventPatch)
    version = required_version(request, KIND, event_id)
    out = await run_in_threadpool(
        adverse_events.update_adverse_event, runtime(request), actor, event_id, version, data
    )
    return versioned(response, KIND, out)
