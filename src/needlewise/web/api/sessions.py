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
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from needlewise.services import sessions
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
    request: Request,
    patient_id: RecordId,
    actor: Annotated[Actor, Depends(staff("sessions:write"))],
) -> Any:
    """Record a dry-needling session (clinicians). Checks screening, consent and the
    provider's state scope; derives the CPT line from the muscles. An ``override`` with a
    reason lets a clinician record a session after a not-eligible screening (audited).
    Send an `Idempotency-Key` to make a retry safe."""
    document = await json_body(request)
    data = validate(sessions.SessionIn, document)
    rt = runtime(request)

    async def create(once: Once[sessions.SessionOut] | None) -> sessions.SessionOut:
        return await run_in_threadpool(sessions.create_session, rt, actor, patient_id, data, once)

    return await idempotent.run(request, actor, document, _created, create)


def _created(out: sessions.SessionOut) -> Answer:
    return Answer(201, out.model_dump(mode="json"), etag(KIND, out.id, out.version))


@router.get(
    "/api/sessions", response_model=None, responses={**ok(Page[sessions.SessionOut]), **READ}
)
def list_sessions(
    request: Request,
    page: Paging,
    actor: Annotated[Actor, Depends(staff("sessions:read"))],
    patient_id: IdFilter = None,
    provider_id: IdFilter = None,
    since: Annotated[
        datetime | None, Query(description="Performed at or after (no zone: UTC)")
    ] = None,
    until: Annotated[datetime | None, Query(description="Performed before (no zone: UTC)")] = None,
) -> Any:
    """Sessions, newest first. Each session returned is recorded in the audit log."""
    return sessions.list_sessions(
        runtime(request),
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
def get_session(
    request: Request,
    response: Response,
    session_id: RecordId,
    actor: Annotated[Actor, Depends(staff("sessions:read"))],
) -> Any:
    """One session with its muscles and derived coding."""
    out = sessions.get_session(runtime(request), actor, session_id)
    return versioned(response, KIND, out)


@router.patch(
    "/api/sessions/{session_id}",
    response_model=None,
    openapi_extra=body_doc(sessions.SessionPatch, "Fields to change (send If-Match)."),
    responses={**ok(sessions.SessionOut), **UPDATE},
)
async def patch_session(
    request: Request,
    response: Response,
    session_id: RecordId,
    actor: Annotated[Actor, Depends(staff("sessions:write"))],
) -> Any:
    """Change notes, technique, response, events, retention or the muscles (the whole
    list; the CPT line is derived again). A stale If-Match gets 412."""
    data = await body_of(request, sessions.SessionPatch)
    version = required_version(request, KIND, session_id)
    out = await run_in_threadpool(
        sessions.update_session, runtime(request), actor, session_id, version, data
    )
    return versioned(response, KIND, out)
