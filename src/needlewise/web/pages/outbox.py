"""``/app/outbox``: the messages the clinic sends itself (SMS, a phone call) that are due
— the patient's name and phone, what to say, and the patient's check-in link — each with
a "Mark handled" button (staff who may read patients; the form carries the session's
CSRF token; marking is audited). The same use cases as ``services/outbound.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.services.outbound import mark_handled, outbox
from needlewise.web.api.deps import PatientsRead, RecordId, RuntimeDep
from needlewise.web.pages.admin_forms import staff_form
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

PATH = "/app/outbox"


@router.get(PATH, response_class=HTMLResponse)
async def outbox_page(request: Request, rt: RuntimeDep, actor: PatientsRead) -> Response:
    """The due outbox messages, oldest first."""
    items = await run_in_threadpool(outbox, rt, actor)
    handled = request.query_params.get("handled", "")[:12]
    return render(request, "clinic/outbox.html", {"items": items, "handled": handled})


@router.post(PATH + "/{message_id}/handled", response_class=HTMLResponse)
async def handled(
    request: Request, rt: RuntimeDep, message_id: RecordId, actor: PatientsRead
) -> Response:
    """Mark one message handled, then back to the outbox."""
    await staff_form(request)
    await run_in_threadpool(mark_handled, rt, actor, message_id)
    return RedirectResponse(f"{PATH}?handled={message_id}", status_code=303)
