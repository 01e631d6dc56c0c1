"""``/app/patients/{id}/links``: send a patient a link, and see where they are.

The front desk makes a signed, expiring link for one purpose — ``intake`` (answer the
health questions), ``consent`` (read and sign) or ``check-in`` (say how they feel after
treatment) — with the same use case as ``POST /api/patients/{id}/links``
(:func:`needlewise.services.links.create_link`). The new link is shown on the page that
made it, and only there: its full address (the patient opens ``/p/<token>`` on this
server), a button that copies it, and a QR code to scan from the desk (inline SVG, no
style attribute, named for screen readers). The token never appears in an address of
ours other than the link itself, and is not shown again: staff make a new link if the
patient loses it.

The page also lists the patient's links with their status (open, used, expired,
cancelled; :mod:`needlewise.services.link_list`), with a button to cancel an open one
(:func:`needlewise.services.links.revoke_link`), and where the patient stands: their
decisive screening and their latest consent. Every read is audited by its use case.
"""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup, escape
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.errors import InputError, NotFound
from needlewise.languages import NATIVE_NAMES, Language
from needlewise.services import consents, links, patients, stored_screenings
from needlewise.services.actor import Actor
from needlewise.services.link_list import patient_links
from needlewise.services.paging import PageParams
from needlewise.services.runtime import Runtime
from needlewise.translations import N_
from needlewise.web.api.deps import LinksWrite, RecordId, RuntimeDep
from needlewise.web.pages.admin_forms import field_problems, service_problem, staff_form, value
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import gettext, render

router = APIRouter(include_in_schema=False)

#: the purposes a link may have, as the form words them (links.Purpose)
PURPOSES: tuple[tuple[str, str, str], ...] = (
    ("intake", N_("Health questions"), N_("The patient answers the screening questions before their visit. Works once.")),
    ("consent", N_("Consent"), N_("The patient reads the consent and signs it. Works once.")),
    ("check-in", N_("Check-in after treatment"), N_("The patient tells the clinic how they feel after treatment. Works until it expires.")),
)  # fmt: skip


def patient_url(request: Request, token: str) -> str:
    """The address the patient opens: ``/p/<token>`` on this server (as the browser
    reached it)."""
    return f"{request.base_url}p/{token}"


def qr_svg(url: str, language: Language) -> Markup:
    """``url`` as a QR code in inline SVG: no style attribute (the pages' content
    security policy), an image role and an accessible name, dark on white."""
    label = gettext(language, N_("QR code of the patient's link"))
    svg = segno.make(url, error="m").svg_inline(
        scale=4, border=4, title=label, svgclass="qr", lineclass="qr-line", light="#fff"
    )
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return Markup(svg)  # noqa: S704 - segno's own markup; the only text in it is escaped


def _standing(rt: Runtime, actor: Actor, patient_id: int) -> dict[str, Any]:
    """The patient's decisive screening and latest consent (each read audited)."""
    try:
        screening: stored_screenings.DecisiveOut | None = stored_screenings.get_decisive(
            rt, actor, patient_id
        )
    except NotFound:
        screening = None
    latest = consents.list_consents(rt, actor, PageParams(limit=1), patient_id=patient_id)
    return {"screening": screening, "consent": latest.items[0] if latest.items else None}


def _page(
    request: Request,
    rt: Runtime,
    actor: Actor,
    patient_id: int,
    *,
    created: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    patient = patients.get_patient(rt, actor, patient_id)
    return render(
        request,
        "desk/patient_links.html",
        {
            "patient": patient,
            **_standing(rt, actor, patient_id),
            "links": patient_links(rt, actor, patient_id),
            "created": created,
            "errors": errors or {},
            "sent": sent or {"purpose": "intake", "hours": ""},
            "purposes": PURPOSES,
            "default_hours": rt.settings.link_hours,
            "revoked": request.query_params.get("revoked"),
            "languages_named": NATIVE_NAMES,
        },
        status=status,
    )


@router.get("/app/patients/{patient_id}/links", response_class=HTMLResponse)
async def links_page(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: LinksWrite
) -> Response:
    """The patient's links and standing, with the form to make a link."""
    return await run_in_threadpool(_page, request, rt, actor, patient_id)


@router.post("/app/patients/{patient_id}/links", response_class=HTMLResponse)
async def create_link(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: LinksWrite
) -> Response:
    """Make the link and show it once: address, copy button and QR code (201)."""
    form = await staff_form(request)
    sent = {"purpose": value(form, "purpose"), "hours": value(form, "hours")}
    language = chosen_language(request)
    document: dict[str, Any] = {"purpose": sent["purpose"]}
    if sent["hours"]:
        document["hours"] = sent["hours"]
    try:
        data = links.LinkIn.model_validate(document)
        made = await run_in_threadpool(links.create_link, rt, actor, patient_id, data)
    except ValidationError as error:
        problems = field_problems(language, error)
        return await run_in_threadpool(
            lambda: _page(request, rt, actor, patient_id, errors=problems, sent=sent, status=422)
        )
    except InputError as error:
        field, message = service_problem(language, error)
        return await run_in_threadpool(
            lambda: _page(
                request, rt, actor, patient_id, errors={field: message}, sent=sent, status=422
            )
        )
    url = patient_url(request, made.token)
    created = {
        "id": made.id,
        "purpose": made.purpose,
        "url": url,
        "qr": qr_svg(url, language),
        "expires_at": made.expires_at,
    }
    return await run_in_threadpool(
        lambda: _page(request, rt, actor, patient_id, created=created, status=201)
    )


@router.post("/app/patients/{patient_id}/links/{link_id}/revoke", response_class=HTMLResponse)
async def revoke_link(
    request: Request, rt: RuntimeDep, patient_id: RecordId, link_id: RecordId, actor: LinksWrite
) -> Response:
    """Cancel a link (it stops working at once), then back to the patient's links."""
    await run_in_threadpool(links.revoke_link, rt, actor, link_id)
    return RedirectResponse(f"/app/patients/{patient_id}/links?revoked={link_id}", status_code=303)
