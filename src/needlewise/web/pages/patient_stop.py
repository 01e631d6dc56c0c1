"""``/p/{token}/stop``: the patient stops the check-in messages of their clinic.

Reached from the "stop these messages" line of every check-in email (the token is the
session's check-in link). The page says plainly what stopping means, with one confirm
button (a form with the double-submit ``form_token``, as every patient-link form); the
post records the opt-out on the patient (``check_ins_opted_out_by`` = ``link:ID``),
cancels every scheduled check-in message, is audited, and says how to start again: ask
the clinic. Stopping the messages does not stop the link: the patient can still tell the
clinic how they feel. See :mod:`needlewise.services.check_in_opt_out`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from needlewise.services import check_in_opt_out
from needlewise.web.api.deps import CheckInLink, RuntimeDep
from needlewise.web.pages.form_guard import read_form
from needlewise.web.pages.patient_link import link_language
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/p/{token}/stop", response_class=HTMLResponse)
async def stop_page(
    request: Request, rt: RuntimeDep, token: str, actor: CheckInLink
) -> HTMLResponse:
    """What stopping means, and the confirm button (or: already stopped)."""
    _info, language = await run_in_threadpool(link_language, request, rt, actor)
    stopped = await run_in_threadpool(check_in_opt_out.opted_out, rt, actor)
    return render(
        request,
        "patient/stop.html",
        {"token": token, "stopped": stopped, "done": False},
        language=language,
    )


@router.post("/p/{token}/stop", response_class=HTMLResponse)
async def stop(request: Request, rt: RuntimeDep, token: str, actor: CheckInLink) -> HTMLResponse:
    """Record the opt-out and cancel the scheduled messages."""
    await read_form(request, actor)
    _info, language = await run_in_threadpool(link_language, request, rt, actor)
    await run_in_threadpool(check_in_opt_out.opt_out_by_link, rt, actor)
    return render(
        request,
        "patient/stop.html",
        {"token": token, "stopped": True, "done": True},
        language=language,
    )
