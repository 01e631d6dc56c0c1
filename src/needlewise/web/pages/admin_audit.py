"""``/app/admin/audit``: the clinic's audit log as a table — who read or changed which
record, or was refused, when and from where, newest first (admins only). The same use
case as ``GET /api/audit`` (:func:`needlewise.services.audit.list_entries`); reading the
log is itself audited.

Filters (a plain GET form, so a filtered view can be bookmarked; no patient data goes in
the address, only ids): who (``user:3``, ``link:12``, ``anonymous``), action, record
type, outcome (done, not allowed, refused), patient number, and a date range (whole days
in the clinic's time zone, both ends included; times are shown in it too). 50 entries a page. A filter that cannot be read shows the
form again with the reason next to it (422).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from starlette.responses import HTMLResponse, Response

from needlewise.services import audit, users
from needlewise.services.actor import Actor
from needlewise.services.paging import Page, PageParams
from needlewise.services.records import MAX_ID
from needlewise.services.runtime import Runtime
from needlewise.translations import N_
from needlewise.web.api.deps import AuditRead, RuntimeDep
from needlewise.web.pages.admin_forms import field_problems
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import clinic_zone, gettext, render

router = APIRouter(include_in_schema=False)

PATH = "/app/admin/audit"
PAGE_SIZE = 50
FILTERS = ("actor", "action", "resource_type", "outcome", "patient_id", "since", "until")
Word = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9:._-]*$")]
#: the actions and record types the log holds most, offered as suggestions
ACTIONS = ("read", "create", "update", "revoke", "withdraw", "use", "login", "logout",
           "override", "acknowledge", "change-password", "lockout", "post")  # fmt: skip
RESOURCE_TYPES = ("patient", "patient-link", "screening", "consent", "consent-copy",
                  "session", "adverse-event", "check-in", "provider", "user", "clinic",
                  "api-token", "audit-log")  # fmt: skip
_BACKWARDS = N_("The last day must not be before the first day.")


class AuditFilters(BaseModel):
    """The filters of the page, as typed (blank: no filter)."""

    model_config = ConfigDict(extra="ignore")
    actor: Annotated[Word, Field(max_length=40)] | None = None
    action: Annotated[Word, Field(max_length=20)] | None = None
    resource_type: Annotated[Word, Field(max_length=40)] | None = None
    outcome: Literal["ok", "denied", "refused"] | None = None
    patient_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    since: date | None = None
    until: date | None = None
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _in_order(self) -> AuditFilters:
        if self.since and self.until and self.until < self.since:
            raise ValueError("until before since")
        return self


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    """The first moment of ``day`` in the clinic's zone, in UTC."""
    return None if day is None else datetime.combine(day, time(), zone).astimezone(UTC)


def _page(
    request: Request, rt: Runtime, actor: Actor, filters: AuditFilters, sent: dict[str, str]
) -> Response:
    zone = clinic_zone(request)
    page = audit.list_entries(
        rt.db,
        actor,
        PageParams(limit=PAGE_SIZE, offset=filters.offset),
        patient_id=filters.patient_id,
        actor_ref=filters.actor,
        action=filters.action,
        outcome=filters.outcome,
        resource_type=filters.resource_type,
        since=_start_of(filters.since, zone),
        until=_start_of(filters.until + timedelta(days=1) if filters.until else None, zone),
    )
    names = {f"user:{u.id}": u.name for u in users.list_users(rt, actor, PageParams(100)).items}
    return render(request, "admin/audit.html", _context(sent, {}, page, names, filters.offset))


def _context(
    sent: dict[str, str],
    errors: dict[str, str],
    page: Page[audit.AuditOut] | None,
    names: dict[str, str],
    offset: int,
) -> dict[str, Any]:
    kept = [(name, sent[name]) for name in FILTERS if sent.get(name)]
    return {
        "sent": sent,
        "errors": errors,
        "page": page,
        "names": names,
        "kept": kept,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "actions": ACTIONS,
        "resource_types": RESOURCE_TYPES,
    }


@router.get(PATH, response_class=HTMLResponse)
async def audit_page(request: Request, rt: RuntimeDep, actor: AuditRead) -> Response:
    """The filtered log, newest first (the filters come in the query string)."""
    query = request.query_params
    sent = {name: query.get(name, "").strip()[:100] for name in FILTERS}
    document: dict[str, Any] = {name: text for name, text in sent.items() if text}
    if query.get("offset", "").strip():
        document["offset"] = query.get("offset", "").strip()[:10]
    try:
        filters = AuditFilters.model_validate(document)
    except ValidationError as error:
        language = chosen_language(request)
        problems = field_problems(language, error)
        if "" in problems:  # the dates' order: said next to the last day
            problems["until"] = gettext(language, _BACKWARDS)
            del problems[""]
        return render(request, "admin/audit.html", _context(sent, problems, None, {}, 0),
                      status=422)  # fmt: skip
    return await run_in_threadpool(_page, request, rt, actor, filters, sent)
