"""``/api/p/{token}``: the patient side of a link (no password; the link is the key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from needlewise.services import links
from needlewise.web.api.deps import AnyLink, RuntimeDep
from needlewise.web.openapi import error_responses

router = APIRouter(prefix="/api/p", tags=["patient links"])

LINK_ERRORS = error_responses(404, 410, 422, 500)


@router.get(
    "/{token}", response_model=None, responses={200: {"model": links.LinkInfo}, **LINK_ERRORS}
)
def open_link(rt: RuntimeDep, token: str, actor: AnyLink) -> Any:
    """What this link is for, and the patient's first name and language (nothing else)."""
    return links.link_info(rt, actor).model_dump(mode="json")
