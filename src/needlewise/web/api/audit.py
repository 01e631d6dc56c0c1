"""``/api/audit``: the append-only audit log of the caller's clinic (admin only; each read
is itself audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from needlewise.services import audit
from needlewise.services.paging import Page
from needlewise.web.api.deps import AuditRead, IdFilter, Paging, RuntimeDep
from needlewise.web.openapi import READ, ok

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=None, responses={**ok(Page[audit.AuditOut]), **READ})
def list_audit(
    rt: RuntimeDep,
    page: Paging,
    actor: AuditRead,
    patient_id: IdFilter = None,
    actor_ref: Annotated[str | None, Query(alias="actor", max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
    outcome: Annotated[
        Literal["ok", "denied", "refused"] | None,
        Query(description="ok, or a refusal: denied (not allowed) or refused (not now)"),
    ] = None,
    since: Annotated[datetime | None, Query()] = None,
) -> Any:
    """Who read or changed which patient's data, or was refused, when and from where
    (newest first; this clinic's entries only). Reading the log is audited in turn."""
    return audit.list_entries(
        rt.db,
        actor,
        page,
        patient_id=patient_id,
        actor_ref=actor_ref,
        action=action,
        outcome=outcome,
        since=since,
    ).model_dump(mode="json")
