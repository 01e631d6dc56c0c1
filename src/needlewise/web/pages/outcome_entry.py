"""``POST /app/patients/{patient_id}/outcomes``: the score a clinician typed into one of the
chart's outcome forms (:mod:`needlewise.web.pages.outcome_form`) goes to
:func:`needlewise.services.outcomes.record_outcome_document`; refused, the chart shows
again with the field named and nothing stored (422); saved, back to the chart's
outcomes (303)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from needlewise.errors import InputError
from needlewise.services import outcomes
from needlewise.web.api.deps import RecordId, RuntimeDep, SessionsWrite
from needlewise.web.pages.chart import chart_page
from needlewise.web.pages.outcome_form import (
    MAX_FIELDS,
    document_of,
    field_of,
    form_text,
    forms_for,
)

router = APIRouter(include_in_schema=False)


@router.post("/app/patients/{patient_id}/outcomes")
async def record_outcome(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: SessionsWrite
) -> Response:
    """Record the posted score; the chart again with the problem named when it is refused."""
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    measure = form_text(form, "measure")
    specs = [s for s in forms_for(rt.kb, "en", []) if s.measure == measure]
    if not specs:
        raise InputError("choose one of the questionnaires on the chart", "measure")
    spec = specs[0]
    document, fields = document_of(spec, form)
    try:
        saved = await run_in_threadpool(
            outcomes.record_outcome_document, rt, actor, patient_id, document
        )
    except InputError as wrong:
        spec.open = True
        spec.errors[field_of(wrong.where, fields)] = wrong.problem
        return await run_in_threadpool(
            chart_page, request, rt, actor, patient_id, failed=spec, status=422
        )
    return RedirectResponse(
        f"/app/patients/{patient_id}?outcome={saved.id}#outcomes", status_code=303
    )
