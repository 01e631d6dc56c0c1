"""``/app/admin/mail``: every message the clinic sends or must send — kind, channel,
state, due and sent times, attempts and the last error — newest due first (admins only,
``audit:read``). No patient names: a patient message shows the patient's number.

When ``NEEDLEWISE_MAIL_CATCHER_DIR`` is set (the demo: ``make run``), the page also lists
what the local mail catcher received, so the demo's emails can be read in the browser.
Times are UTC.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from needlewise.jobs.catcher import caught
from needlewise.services.outbound import mail_log
from needlewise.web.api.deps import AuditRead, RuntimeDep
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

PATH = "/app/admin/mail"


@router.get(PATH, response_class=HTMLResponse)
async def mail_page(request: Request, rt: RuntimeDep, actor: AuditRead) -> Response:
    """The mail log, and the catcher's messages in the demo."""
    rows = await run_in_threadpool(mail_log, rt, actor)
    folder = rt.settings.mail_catcher_dir
    received = await run_in_threadpool(caught, folder) if folder is not None else None
    failed = sum(1 for row in rows if row.state == "failed")
    return render(
        request,
        "admin/mail.html",
        {"rows": rows, "received": received, "failed": failed, "catcher_dir": folder},
    )
