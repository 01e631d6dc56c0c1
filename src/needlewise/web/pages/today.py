"""``/app``: the clinic's today list — check-ins waiting for a clinician (emergencies
first, then call-provider), and the patients with their screening and consent status.

The list keeps itself current without a reload: htmx asks ``/app/queue`` every 12 s
with the digest of the queue it shows (:mod:`needlewise.services.check_in_queue`); an
unchanged queue is a 204, a changed one comes back as the section, and urgent check-ins
new to the page are announced in a visible live region (``role="alert"``). Each waiting
check-in says since when it waits and how many alerts went to the clinic about it
(:mod:`needlewise.services.escalation`). No inline script: the polling is htmx
attributes, so the page's strict CSP holds.

Any signed-in staff member who may read patients and check-ins sees the list; only a
clinician may acknowledge a check-in (``check-ins:acknowledge``, as
``POST /api/check-ins/{id}/acknowledge``): anyone else gets a 403 page, audited. The
acknowledge button is a plain form (the check-in's version travels with it, as the API's
If-Match); with htmx the acknowledged row replaces the old one in place.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.security.roles import allowed
from needlewise.services import check_in_queue, check_in_review, escalation, patients
from needlewise.services.actor import Actor
from needlewise.services.check_in_models import CheckInOut
from needlewise.services.paging import PageParams
from needlewise.services.patient_status import patient_statuses
from needlewise.services.records import MAX_ID
from needlewise.services.runtime import Runtime
from needlewise.web.api.deps import (
    CheckInsAcknowledge,
    CheckInsRead,
    Knowledge,
    PatientsRead,
    RecordId,
    RuntimeDep,
)
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

#: the order of the work queue: who needs a clinician soonest comes first
URGENCY = {"emergency": 0, "call-provider": 1, "self-care": 2}
PER_PAGE = 50
#: the waiting check-ins shown (the queue is short; an overflow says how many more)
QUEUE = 100


def work_queue(items: list[CheckInOut]) -> list[CheckInOut]:
    """Unacknowledged check-ins, emergencies first, then call-provider, newest first
    within each (the service lists newest first; the sort keeps that order)."""
    return sorted(items, key=lambda c: URGENCY.get(c.disposition, 3))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("/app", response_class=HTMLResponse)
def today(
    request: Request,
    rt: RuntimeDep,
    kb: Knowledge,
    actor: PatientsRead,
    _reader: CheckInsRead,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The today list (the first page after signing in)."""
    return _today(request, rt, kb, actor, offset, None)


@router.post("/app", response_class=HTMLResponse)
async def search(
    request: Request, rt: RuntimeDep, kb: Knowledge, actor: PatientsRead, _reader: CheckInsRead
) -> Response:
    """The today list with the patients found by name. A search is posted (with the
    session's CSRF token), so no patient's name is ever in an address, a browser's
    history or a proxy's log."""
    form = await request.form(max_files=0, max_fields=10)
    q = str(form.get("q") or "").strip()
    if len(q) > 100:
        raise InputError("a name to find has at most 100 characters", "q")
    raw = str(form.get("offset") or "0")
    if not raw.isdigit() or int(raw) > 1_000_000:
        raise InputError("the page of patients is a number from 0 to 1000000", "offset")
    return await run_in_threadpool(_today, request, rt, kb, actor, int(raw), q or None)


def _today(
    request: Request,
    rt: Runtime,
    kb: KnowledgeBase,
    actor: Actor,
    offset: int,
    q: str | None,
) -> Response:
    listed = patients.list_patients(rt, actor, PageParams(limit=PER_PAGE, offset=offset), q)
    names = {p.id: f"{p.given_name} {p.family_name}" for p in listed.items}
    shown = _queue(rt, kb, actor, names, None)
    statuses = patient_statuses(rt, actor, [p.id for p in listed.items])
    return render(
        request,
        "clinic/today.html",
        {
            **shown,
            "patients": listed,
            "statuses": statuses,
            "q": q or "",
            "notice": request.query_params.get("notice"),
            "per_page": PER_PAGE,
        },
    )


def _queue(
    rt: Runtime, kb: KnowledgeBase, actor: Actor, names: dict[int, str], after: int | None
) -> dict[str, Any]:
    """What the queue section shows: the waiting check-ins (urgent first) with the
    clinic's alerts about each, the digest the page polls with, and (``after``: the
    newest check-in the page had) the urgent check-ins that are new to it."""
    queue = check_in_review.list_check_ins(rt, actor, PageParams(limit=QUEUE), unacknowledged=True)
    for patient_id in {c.patient_id for c in queue.items} - names.keys():
        other = patients.get_patient(rt, actor, patient_id)
        names[other.id] = f"{other.given_name} {other.family_name}"
    alerts = escalation.alert_statuses(rt, [c.id for c in queue.items])
    sent = {check_in_id: status.sent for check_in_id, status in alerts.items()}
    newest = max([c.id for c in queue.items], default=0)
    new = [c for c in queue.items if after is not None and c.id > after]
    news = [
        (kind, count)
        for kind in escalation.ALERTING
        if (count := sum(1 for c in new if c.disposition == kind))
    ]
    return {
        "queue": work_queue(queue.items),
        "queue_more": max(0, queue.total - len(queue.items)),
        "queue_state": check_in_queue.digest(
            [(c.id, c.version) for c in queue.items], queue.total, sent
        ),
        "queue_after": max(newest, after or 0),
        "alerts": alerts,
        "news": news,
        "names": names,
        "may_acknowledge": may(actor, "check-ins:acknowledge"),
        "reason_title": partial(reason_title, kb),
    }


@router.get("/app/queue", response_class=HTMLResponse)
def queue_fragment(
    request: Request,
    rt: RuntimeDep,
    kb: Knowledge,
    actor: PatientsRead,
    _reader: CheckInsRead,
    state: Annotated[str, Query(max_length=64, pattern="^[0-9a-f]*$")] = "",
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """The queue section of the today list, for its polls: 204 while the queue is as the
    page shows it (``state``, a digest without patient data), else the section again,
    with an announcement of the urgent check-ins newer than ``after``."""
    if state and state == check_in_queue.queue_state(rt, actor, QUEUE):
        return Response(status_code=204)
    return render(request, "clinic/_queue.html", _queue(rt, kb, actor, {}, after))


def may(actor: Actor, permission: str) -> bool:
    """Does the actor's role grant ``permission`` (to show or hide a button)?"""
    return actor.role is not None and allowed(actor.role, permission)


def reason_title(kb: KnowledgeBase, rule: str, fallback: str, language: str) -> str:
    """A check-in reason in the reader's language: the knowledge base's title of the
    symptom, else the title stored with the check-in (in the patient's language)."""
    symptom = kb.symptom(rule)
    return symptom.title.get(language) if symptom is not None else fallback


@router.post("/app/check-ins/{check_in_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge(
    request: Request,
    rt: RuntimeDep,
    kb: Knowledge,
    check_in_id: RecordId,
    actor: CheckInsAcknowledge,
) -> Response:
    """A clinician has seen this check-in (the same use case as the API; a second time
    is 409, a stale version 412)."""
    form = await request.form(max_files=0, max_fields=20)
    raw = str(form.get("version") or "")
    if not raw.isdigit() or len(raw) > 9:
        raise InputError("the form lacks the check-in's version: reload the page", "version")
    done = await run_in_threadpool(
        check_in_review.acknowledge_check_in, rt, actor, check_in_id, int(raw)
    )
    if is_htmx(request):
        name = await run_in_threadpool(patients.get_patient, rt, actor, done.patient_id)
        return render(
            request,
            "clinic/_check_in_row.html",
            {
                "c": done,
                "names": {name.id: f"{name.given_name} {name.family_name}"},
                "may_acknowledge": True,
                "reason_title": partial(reason_title, kb),
            },
        )
    return RedirectResponse("/app?notice=acknowledged", status_code=303)
