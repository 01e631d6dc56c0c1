"""``/api/audit``: the append-only audit log (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.pages import Page
from needlewise.web.api.auth_deps import runtime, staff
from needlewise.web.api.common import READ, IdFilter, Paging, ok

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=None, responses={**ok(Page[audit.AuditOut]), **READ})
def list_audit(
    request: Request,
    page: Paging,
    actor: Annotated[Actor, Depends(staff("audit:read"))],
    patient_id: IdFilter = None,
    actor_ref: Annotated[str | None, Query(alias="actor", max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[datetime | None, Query()] = None,
) -> Any:
    """Who read or changed which patient's data, when and from where (newest first)."""
    return audit.list_entries(
        runtime(request).db,
        actor,
        page,
        patient_id=patient_id,
        actor_ref=actor_ref,
        action=action,
        since=since,
    ).model_dump(mode="json")
