"""``/app/emergency-plan``: the in-clinic emergency plan of the knowledge base, one click
from every staff page (the menu links it). What staff do for each critical event, in
order, with each step's sources, and the state rules a clinic must follow or record."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from needlewise.web.api.deps import AnyStaff, Knowledge
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/app/emergency-plan", response_class=HTMLResponse)
def emergency_plan(request: Request, kb: Knowledge, _actor: AnyStaff) -> HTMLResponse:
    """The plan, printable (any signed-in staff member)."""
    plan = kb.data.emergency_plan
    return render(
        request,
        "clinic/emergency_plan.html",
        {
            "plan": plan,
            "sources_of": lambda ids: sources_of(kb, ids),
        },
    )
