"""``/p/{token}``: the first page a patient reaches from a signed link (no password).

It offers the language first (links with ``?lang=``), then says what the link is for and
greets the patient by first name only, with one button to the form. The language the
patient picks (or that this browser already speaks) is remembered in a cookie by
:func:`~needlewise.web.pages.rendering.render` and stored on the patient record
(:func:`needlewise.services.links.set_language`, audited), so the forms, the consent
text and the check-in advice come in it, and the clinic knows it.

:func:`link_language` is what every patient-link page uses to pick its language.
A link that is not valid, expired, cancelled or used is answered by the error page in
the visitor's language (404 or 410: "ask your clinic for a new link").
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from needlewise.languages import Language
from needlewise.services import links
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime
from needlewise.web.api.deps import AnyLink, RuntimeDep
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

#: where each purpose's form is, under ``/p/{token}``
FORM_PATHS = {"intake": "intake", "consent": "consent", "check-in": "check-in"}


def link_language(
    request: Request, runtime: Runtime, actor: Actor
) -> tuple[links.LinkInfo, Language]:
    """(what the link is for, the language to speak): the visitor's pick, else this
    browser's remembered language, else the record's. A language that differs from the
    record's is stored on it, so the knowledge-base texts the services render (they use
    the record's language) match the page."""
    info = links.link_info(runtime, actor)
    language = chosen_language(request, on_record=info.language)
    if language != info.language:
        links.set_language(runtime, actor, language)
        info = info.model_copy(update={"language": language})
    return info, language


@router.get("/p/{token}", response_class=HTMLResponse)
async def landing(request: Request, rt: RuntimeDep, token: str, actor: AnyLink) -> HTMLResponse:
    """The link's first page: language choice, what it is for, and the way in."""
    info, language = await run_in_threadpool(link_language, request, rt, actor)
    return render(
        request,
        "patient/landing.html",
        {
            "info": info,
            "token": token,
            "form_url": f"/p/{token}/{FORM_PATHS[info.purpose]}",
        },
        language=language,
    )
