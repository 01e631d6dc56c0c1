"""``/``: the home page — where patients, staff and integrators each go from here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The first page: read about dry needling, open a clinic's link, or sign in."""
    return render(request, "home.html")
