"""``/app/patients/{patient_id}``: the patient chart — everything the clinic holds about
one patient, newest first, each section as the reader's role allows.

* screenings, with each finding's rule, certainty, what it was read from, and its sources
  (the decisive screening — the one the session rules use — is marked);
* consents, each with its PDF copy (``/app/consents/{id}.pdf``) and any withdrawal;
* sessions (clinicians and admins), with the derived CPT line and any override;
* the NPRS trend (sessions' pain before and after needling, check-in and recorded
  scores) and one chart per function measure (PSFS, NDI, ODI) with its baseline and MCID
  band, each as an SVG with a plain-text summary and a table twin
  (:mod:`needlewise.web.pages.outcome_charts`), the questionnaires due and the forms to
  record them (:mod:`needlewise.web.pages.outcome_form`);
* check-ins and adverse events.

Every record shown is audited as a read by the service that returns it (the same
services as ``/api/screenings``, ``/api/consents``, ``/api/sessions``, ``/api/check-ins``,
``/api/adverse-events``). ``?saved=<session id>`` after recording a session shows a
notice and the patient's take-home sheet in their language.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from needlewise.errors import NotFound
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services import (
    adverse_events,
    aftercare_schedule,
    check_in_review,
    consents,
    outcomes,
    patients,
    sessions,
    stored_screenings,
)
from needlewise.services.actor import Actor
from needlewise.services.paging import PageParams
from needlewise.services.runtime import Runtime
from needlewise.web.api.deps import PatientsRead, RecordId, RuntimeDep
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.outcome_charts import GEOMETRY, measure_charts, nprs_chart
from needlewise.web.pages.outcome_form import OutcomeForm, forms_for
from needlewise.web.pages.rendering import render
from needlewise.web.pages.today import may, reason_title

router = APIRouter(include_in_schema=False)

#: how many of each kind of record the chart shows (newest first)
SHOWN = 50


def finding_title(kb: KnowledgeBase, rule: str, fallback: str, language: str) -> str:
    """A screening finding in the reader's language (the stored title if the knowledge
    base no longer has the rule)."""
    found = kb.contraindication(rule)
    return found.title.get(language) if found is not None else fallback


def muscle_title(kb: KnowledgeBase, muscle_id: str, language: str) -> str:
    found = kb.muscle(muscle_id)
    return found.title.get(language) if found is not None else muscle_id


def chart_page(
    request: Request,
    rt: Runtime,
    actor: Actor,
    patient_id: int,
    *,
    failed: OutcomeForm | None = None,
    status: int = 200,
) -> Response:
    """The chart page (with a refused outcome form kept open with its values)."""
    kb = rt.kb
    patient = patients.get_patient(rt, actor, patient_id)
    page = PageParams(limit=SHOWN)
    context: dict[str, Any] = {"patient": patient}
    try:
        context["decisive"] = stored_screenings.get_decisive(rt, actor, patient_id)
    except NotFound:
        context["decisive"] = None
    context["screenings"] = stored_screenings.list_screenings(
        rt, actor, page, patient_id=patient_id
    )
    context["consents"] = consents.list_consents(rt, actor, page, patient_id=patient_id)
    context["check_ins"] = check_in_review.list_check_ins(rt, actor, page, patient_id=patient_id)
    readable = may(actor, "sessions:read")
    context["sessions"] = (
        sessions.list_sessions(rt, actor, page, patient_id=patient_id) if readable else None
    )
    latest = (
        context["sessions"].items[0] if context["sessions"] and context["sessions"].items else None
    )
    # what will be (or was) sent after the latest session, each with its state
    context["latest_schedule"] = (
        (latest.id, aftercare_schedule.session_schedule(rt, actor, latest.id))
        if latest is not None
        else None
    )
    context["rule_titles"] = {
        r.id: r.title.get(chosen_language(request)) for r in kb.data.aftercare_schedule.rules
    }
    context["adverse_events"] = (
        adverse_events.list_adverse_events(rt, actor, page, patient_id=patient_id)
        if may(actor, "adverse-events:read")
        else None
    )
    found = outcomes.patient_outcomes(rt, actor, patient_id) if readable else None
    language = chosen_language(request)
    due = [d.measure for d in found.due] if found is not None else []
    context["outcomes"] = found
    context["trend"] = nprs_chart(found.nprs) if found is not None else None
    context["measure_charts"] = measure_charts(kb, found) if found is not None else []
    context["outcome_forms"] = forms_for(kb, language, due, failed)
    context["due_titles"] = [
        (d, kb.measure(d.measure)) for d in (found.due if found is not None else [])
    ]
    saved = request.query_params.get("saved", "")
    context.update(
        {
            "saved": int(saved) if saved.isdigit() and len(saved) < 10 else None,
            "outcome_saved": request.query_params.get("outcome", "").isdigit(),
            "may_record": may(actor, "sessions:write"),
            "sources_of": partial(sources_of, kb),
            "finding_title": partial(finding_title, kb),
            "muscle_title": partial(muscle_title, kb),
            "reason_title": partial(reason_title, kb),
            "nprs": kb.by_id.get("measure.nprs"),
            "chart": GEOMETRY,
        }
    )
    return render(request, "clinic/chart.html", context, status=status)


@router.get("/app/patients/{patient_id}", response_class=HTMLResponse)
def chart(request: Request, rt: RuntimeDep, patient_id: RecordId, actor: PatientsRead) -> Response:
    """The chart of one patient (any staff member; sessions, outcomes and adverse events
    only for roles that may read them)."""
    return chart_page(request, rt, actor, patient_id)
