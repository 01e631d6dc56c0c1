"""``/api/patients/{id}/sessions`` and ``/api/sessions``: treatment sessions.

Recording a session is refused with 422 ``rule-violation`` (naming ``rule``, ``policy``
and ``sources``) when the patient has no screening (``session.requires-screening``), the
screening is not-eligible without a clinician's override
(``session.requires-eligible-screening``), the screening left out electrical stimulation
the session used (``session.screening-covers-electrical-stimulation``), there is no signed
consent in force (``session.requires-consent``), or the provider may not needle in their
licence state (``state.<xx>``, with ``profession``). The CPT line is derived, never sent.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from needlewise.services import sessions
from needlewise.services.paging import Page
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api import record_routes
from needlewise.web.api.deps import (
    IdFilter,
    Paging,
    RecordId,
    RuntimeDep,
    SessionsRead,
    SessionsWrite,
)
from needlewise.web.etags import versioned
from needlewise.web.openapi import CREATE, READ, READ_ONE, UPDATE, body_doc, created, ok

router = APIRouter(tags=["treatment sessions"])
KIND = "session"


@router.post(
    "/api/patients/{patient_id}/sessions",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(
        body_doc(sessions.SessionIn, "The session (muscles, provider, time …).")
    ),
    responses={**created(sessions.SessionOut), **CREATE},
)
async def create_session(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: SessionsWrite
) -> Any:
    """Record a dry-needling session (clinicians). Checks screening, consent and the
    provider's state scope; derives the CPT line from the muscles. An ``override`` with a
    reason lets a clinician record a session after a not-eligible screening (audited).
    Send an `Idempotency-Key` to make a retry safe."""
    service = partial(sessions.create_session, rt, actor, patient_id)
    return await record_routes.create_once(request, actor, KIND, sessions.SessionIn, service)


@router.get(
    "/api/sessions", response_model=None, responses={**ok(Page[sessions.SessionOut]), **READ}
)
def list_sessions(
    rt: RuntimeDep,
    page: Paging,
    actor: SessionsRead,
    patient_id: IdFilter = None,
    provider_id: IdFilter = None,
    since: Annotated[
        datetime | None, Query(description="Performed at or after (no zone: UTC)")
    ] = None,
    until: Annotated[datetime | None, Query(description="Performed before (no zone: UTC)")] = None,
) -> Any:
    """Sessions, newest first. Each session returned is recorded in the audit log."""
    return sessions.list_sessions(
        rt,
        actor,
        page,
        patient_id=patient_id,
        provider_id=provider_id,
        since=since,
        until=until,
    ).model_dump(mode="json")


@router.get(
    "/api/sessions/{session_id}",
    response_model=None,
    responses={**ok(sessions.SessionOut), **READ_ONE},
)
def get_session(rt: RuntimeDep, session_id: RecordId, actor: SessionsRead) -> Any:
    """One session with its muscles and derived coding."""
    return versioned(KIND, sessions.get_session(rt, actor, session_id))


@router.patch(
    "/api/sessions/{session_id}",
    response_model=None,
    openapi_extra=body_doc(sessions.SessionPatch, "Fields to change (send If-Match)."),
    responses={**ok(sessions.SessionOut), **UPDATE},
)
async def patch_session(
    request: Request, rt: RuntimeDep, session_id: RecordId, actor: SessionsWrite
) -> Any:
    """Change notes, technique, response, events, retention or the muscles (the whole
    list; the CPT line is derived again). A stale If-Match gets 412."""
    service = partial(sessions.update_session, rt, actor, session_id)
    return await record_routes.change(request, KIND, session_id, sessions.SessionPatch, service)
