"""``/app/patients/{patient_id}``: the patient chart — everything the clinic holds about
one patient, newest first, each section as the reader's role allows.

* screenings, with each finding's rule, certainty, what it was read from, and its sources
  (the decisive screening — the one the session rules use — is marked);
* consents, each with its PDF copy (``/app/consents/{id}.pdf``) and any withdrawal;
* sessions (clinicians and admins), with the derived CPT line and any override;
* the NPRS trend of the sessions' pain scores as an SVG line chart with a table twin;
* check-ins and adverse events.

Every record shown is audited as a read by the service that returns it (the same
services as ``/api/screenings``, ``/api/consents``, ``/api/sessions``, ``/api/check-ins``,
``/api/adverse-events``). ``?saved=<session id>`` after recording a session shows a
notice and the patient's take-home sheet in their language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from needlewise.errors import NotFound
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services import (
    adverse_events,
    check_in_review,
    consents,
    patients,
    sessions,
    stored_screenings,
)
from needlewise.services.paging import PageParams
from needlewise.services.sessions import SessionOut
from needlewise.web.api.deps import Knowledge, PatientsRead, RecordId, RuntimeDep
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.rendering import render
from needlewise.web.pages.today import may, reason_title

router = APIRouter(include_in_schema=False)

#: how many of each kind of record the chart shows (newest first)
SHOWN = 50
#: the drawing area of the NPRS chart (SVG user units)
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 48, 16, 16, 40
NPRS_MAX = 10


@dataclass(frozen=True)
class TrendPoint:
    """One session's pain scores, placed on the chart."""

    session_id: int
    when: datetime
    x: float
    before: int | None
    after: int | None
    y_before: float | None
    y_after: float | None


@dataclass(frozen=True)
class Trend:
    points: list[TrendPoint]
    ticks: list[tuple[int, float]]

    @property
    def before_path(self) -> str:
        return _polyline([(p.x, p.y_before) for p in self.points])

    @property
    def after_path(self) -> str:
        return _polyline([(p.x, p.y_after) for p in self.points])


def _polyline(points: list[tuple[float, float | None]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points if y is not None)


def nprs_trend(items: list[SessionOut]) -> Trend | None:
    """The sessions with a pain score, oldest first, placed on the chart (``None`` when
    no session has one)."""
    scored = sorted(
        (s for s in items if s.pain_before is not None or s.pain_after is not None),
        key=lambda s: (s.performed_at, s.id),
    )
    if not scored:
        return None
    span = WIDTH - LEFT - RIGHT
    step = span / (len(scored) - 1) if len(scored) > 1 else 0.0

    def y(score: int | None) -> float | None:
        if score is None:
            return None
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - score / NPRS_MAX)

    points = [
        TrendPoint(
            session_id=s.id,
            when=s.performed_at,
            x=LEFT + (step * i if len(scored) > 1 else span / 2),
            before=s.pain_before,
            after=s.pain_after,
            y_before=y(s.pain_before),
            y_after=y(s.pain_after),
        )
        for i, s in enumerate(scored)
    ]
    ticks = [(score, y(score) or 0.0) for score in range(0, NPRS_MAX + 1, 2)]
    return Trend(points, ticks)


def finding_title(kb: KnowledgeBase, rule: str, fallback: str, language: str) -> str:
    """A screening finding in the reader's language (the stored title if the knowledge
    base no longer has the rule)."""
    found = kb.contraindication(rule)
    return found.title.get(language) if found is not None else fallback


def muscle_title(kb: KnowledgeBase, muscle_id: str, language: str) -> str:
    found = kb.muscle(muscle_id)
    return found.title.get(language) if found is not None else muscle_id


@router.get("/app/patients/{patient_id}", response_class=HTMLResponse)
def chart(
    request: Request, rt: RuntimeDep, kb: Knowledge, patient_id: RecordId, actor: PatientsRead
) -> Response:
    """The chart of one patient (any staff member; sessions and adverse events only for
    roles that may read them)."""
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
    context["sessions"] = (
        sessions.list_sessions(rt, actor, page, patient_id=patient_id)
        if may(actor, "sessions:read")
        else None
    )
    context["adverse_events"] = (
        adverse_events.list_adverse_events(rt, actor, page, patient_id=patient_id)
        if may(actor, "adverse-events:read")
        else None
    )
    context["trend"] = nprs_trend(context["sessions"].items) if context["sessions"] else None
    saved = request.query_params.get("saved", "")
    context.update(
        {
            "saved": int(saved) if saved.isdigit() and len(saved) < 10 else None,
            "may_record": may(actor, "sessions:write"),
            "sources_of": partial(sources_of, kb),
            "finding_title": partial(finding_title, kb),
            "muscle_title": partial(muscle_title, kb),
            "reason_title": partial(reason_title, kb),
            "nprs": kb.by_id.get("measure.nprs"),
            "chart": {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": RIGHT,
                      "top": TOP, "bottom": BOTTOM},
        }
    )  # fmt: skip
    return render(request, "clinic/chart.html", context)
