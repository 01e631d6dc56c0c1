"""``/api/p/{token}``: the patient side of a link (no password; the link is the key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from needlewise.services import links
from needlewise.services.actor import Actor
from needlewise.web.api.auth_deps import patient_link, runtime
from needlewise.web.responses import error_responses

router = APIRouter(prefix="/api/p", tags=["patient links"])

LINK_ERRORS = error_responses(404, 410, 422, 500)


async def _any_purpose(request: Request) -> Actor:
    """Open the link whatever its purpose (the purpose is signed into the token)."""
    signed = runtime(request).signer.unsign(request.path_params.get("token", ""))
    return await patient_link(signed[1] if signed else "invalid")(request)


@router.get(
    "/{token}", response_model=None, responses={200: {"model": links.LinkInfo}, **LINK_ERRORS}
)
def open_link(request: Request, token: str, actor: Annotated[Actor, Depends(_any_purpose)]) -> Any:
    """What this link is for, and the patient's first name and language (nothing else)."""
    return links.link_info(runtime(request), actor).model_dump(mode="json")
