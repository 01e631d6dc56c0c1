"""Typed parameters and dependencies of the API routers, declared once.

A router names what it needs by type; this module says how FastAPI provides it::

    def get_patient(rt: RuntimeDep, patient_id: RecordId, actor: PatientsRead) -> Any: ...

* :data:`RuntimeDep` and :data:`Knowledge` — the app's runtime and knowledge base;
* :data:`Paging`, :data:`RecordId`, :data:`IdFilter` — pagination and record ids, bounded
  so that an out-of-range value is 422, never a server error;
* one alias per permission (``PatientsRead`` = a staff member allowed
  ``patients:read``; :data:`AnyStaff` = any logged-in staff member): the ``staff(...)``
  dependency of :mod:`needlewise.web.auth` (which keeps the permission for the OpenAPI
  document and the authorization tests);
* :data:`IntakeLink`, :data:`ConsentLink`, :data:`CheckInLink`, :data:`AnyLink` — a
  patient opening their link (the single-use intake and consent links also reopen for
  the retry of the submission that used them: :func:`needlewise.web.auth.submitting_link`).

Every dependency here is an ``async`` function of the request alone, so the lean fast
path (:mod:`needlewise.web.lean`) can serve routes that use them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.actor import Actor
from needlewise.services.paging import MAX_LIMIT, PageParams
from needlewise.services.records import MAX_ID
from needlewise.services.runtime import Runtime
from needlewise.web.auth import any_patient_link, patient_link, staff, submitting_link
from needlewise.web.state import runtime_of


async def runtime(request: Request) -> Runtime:
    """The app's runtime (database, knowledge, settings, signer)."""
    return runtime_of(request)


async def knowledge(request: Request) -> KnowledgeBase:
    """The app's knowledge base, with its value sets."""
    return runtime_of(request).kb


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100)")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


RuntimeDep = Annotated[Runtime, Depends(runtime)]
Knowledge = Annotated[KnowledgeBase, Depends(knowledge)]
Paging = Annotated[PageParams, Depends(page_params)]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="Record id")]
"""A record id in the path (out of range: 422, never a server error)."""
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional record id in the query string, e.g. ``?patient_id=``."""

# staff, by the permission the route needs (security/roles.py grants them to roles)
AnyStaff = Annotated[Actor, Depends(staff(None))]
ToolsUse = Annotated[Actor, Depends(staff("tools:use"))]
ClinicRead = Annotated[Actor, Depends(staff("clinic:read"))]
ClinicWrite = Annotated[Actor, Depends(staff("clinic:write"))]
UsersRead = Annotated[Actor, Depends(staff("users:read"))]
UsersWrite = Annotated[Actor, Depends(staff("users:write"))]
ProvidersRead = Annotated[Actor, Depends(staff("providers:read"))]
ProvidersWrite = Annotated[Actor, Depends(staff("providers:write"))]
PatientsRead = Annotated[Actor, Depends(staff("patients:read"))]
PatientsWrite = Annotated[Actor, Depends(staff("patients:write"))]
ScreeningsRead = Annotated[Actor, Depends(staff("screenings:read"))]
ScreeningsWrite = Annotated[Actor, Depends(staff("screenings:write"))]
ConsentsRead = Annotated[Actor, Depends(staff("consents:read"))]
ConsentsWrite = Annotated[Actor, Depends(staff("consents:write"))]
SessionsRead = Annotated[Actor, Depends(staff("sessions:read"))]
SessionsWrite = Annotated[Actor, Depends(staff("sessions:write"))]
AdverseEventsRead = Annotated[Actor, Depends(staff("adverse-events:read"))]
AdverseEventsWrite = Annotated[Actor, Depends(staff("adverse-events:write"))]
CheckInsRead = Annotated[Actor, Depends(staff("check-ins:read"))]
CheckInsWrite = Annotated[Actor, Depends(staff("check-ins:write"))]
CheckInsAcknowledge = Annotated[Actor, Depends(staff("check-ins:acknowledge"))]
LinksWrite = Annotated[Actor, Depends(staff("links:write"))]
AuditRead = Annotated[Actor, Depends(staff("audit:read"))]

# patients, by the purpose of the link they opened
IntakeLink = Annotated[Actor, Depends(patient_link("intake"))]
ConsentLink = Annotated[Actor, Depends(patient_link("consent"))]
CheckInLink = Annotated[Actor, Depends(patient_link("check-in"))]
AnyLink = Annotated[Actor, Depends(any_patient_link)]
IntakeSubmission = Annotated[Actor, Depends(submitting_link("intake"))]
ConsentSubmission = Annotated[Actor, Depends(submitting_link("consent"))]
