"""``/api/patients/{id}/adverse-events`` and ``/api/adverse-events``: adverse events.

``event_type`` is a risk id of the knowledge base (``risk.pneumothorax`` …); anything else
is 422 at ``$.event_type``.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from needlewise.services import adverse_events
from needlewise.services.paging import Page
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api import record_routes
from needlewise.web.api.deps import (
    AdverseEventsRead,
    AdverseEventsWrite,
    IdFilter,
    Paging,
    RecordId,
    RuntimeDep,
)
from needlewise.web.etags import versioned
from needlewise.web.openapi import CREATE, READ, READ_ONE, UPDATE, body_doc, created, ok

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
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: AdverseEventsWrite
) -> Any:
    """Record an adverse event (clinicians), optionally linked to this patient's session.
    Send an `Idempotency-Key` to make a retry safe."""
    service = partial(adverse_events.create_adverse_event, rt, actor, patient_id)
    return await record_routes.create_once(
        request, actor, KIND, adverse_events.AdverseEventIn, service
    )


@router.get(
    "/api/adverse-events",
    response_model=None,
    responses={**ok(Page[adverse_events.AdverseEventOut]), **READ},
)
def list_adverse_events(
    rt: RuntimeDep,
    page: Paging,
    actor: AdverseEventsRead,
    patient_id: IdFilter = None,
    serious: Annotated[bool | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Onset at or after (no zone: UTC)")] = None,
) -> Any:
    """Adverse events, newest onset first. Each one returned is recorded in the audit log."""
    return adverse_events.list_adverse_events(
        rt, actor, page, patient_id=patient_id, serious=serious, since=since
    ).model_dump(mode="json")


@router.get(
    "/api/adverse-events/{event_id}",
    response_model=None,
    responses={**ok(adverse_events.AdverseEventOut), **READ_ONE},
)
def get_adverse_event(rt: RuntimeDep, event_id: RecordId, actor: AdverseEventsRead) -> Any:
    return versioned(KIND, adverse_events.get_adverse_event(rt, actor, event_id))


@router.patch(
    "/api/adverse-events/{event_id}",
    response_model=None,
    openapi_extra=body_doc(adverse_events.AdverseEventPatch, "Fields to change (send If-Match)."),
    responses={**ok(adverse_events.AdverseEventOut), **UPDATE},
)
async def patch_adverse_event(
    request: Request, rt: RuntimeDep, event_id: RecordId, actor: AdverseEventsWrite
) -> Any:
    """Change an adverse event (e.g. its outcome once resolved). A stale If-Match gets 412."""
    service = partial(adverse_events.update_adverse_event, rt, actor, event_id)
    return await record_routes.change(
        request, KIND, event_id, adverse_events.AdverseEventPatch, service
    )
