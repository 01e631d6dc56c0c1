"""The signed consent as a PDF: the patient's copy and the clinic's are the same document.

One template (``patient/consent_pdf.html``) in the language signed: the text exactly as
signed, then the drawn signature, the typed name, who signed (the patient or a parent
or guardian), the date and any interpreter, the text version and its fingerprint, and a
withdrawal if there was one (:class:`needlewise.services.consents.ConsentDocument`).

* ``/p/{token}/consent/copy.pdf`` — the patient's copy, through the consent link that
  signed it. Signing used the link up, so it is opened as a used link may be for this one
  thing (:func:`needlewise.services.consents.copy_for_link`: only the consent that link
  created, until the link expires).
* ``/app/consents/{consent_id}.pdf`` — the clinic's copy (staff with ``consents:read``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from needlewise.languages import as_language
from needlewise.services import consents
from needlewise.services.actor import Actor
from needlewise.services.refusals import anonymous
from needlewise.web import refusals
from needlewise.web.api.deps import ConsentsRead, RuntimeDep
from needlewise.web.auth import remote_of
from needlewise.web.pages.pdf import html_to_pdf, pdf_response
from needlewise.web.pages.rendering import environment
from needlewise.web.state import runtime_of

router = APIRouter(include_in_schema=False)


async def used_consent_link(request: Request) -> Actor:
    """The consent link in ``{token}``, also once used (it then reaches only its copy);
    404/410 like any link otherwise (audited)."""
    from needlewise.services.links import LinkRefused, open_link

    token = request.path_params.get("token", "")
    remote = remote_of(request)
    try:
        actor = await run_in_threadpool(
            lambda: open_link(runtime_of(request), token, "consent", remote, allow_used=True)
        )
    except LinkRefused as exc:
        who = exc.link if exc.link is not None else anonymous(remote)
        await refusals.record(request, who, exc.audit_outcome, exc.audit_reason)
        raise
    request.state.actor = actor
    return actor


UsedConsentLink = Annotated[Actor, Depends(used_consent_link)]


def consent_pdf(document: consents.ConsentDocument) -> bytes:
    """The PDF of ``document``, in the language it was signed in."""
    language = as_language(document.patient_copy.language) or "en"
    html = (
        environment(language)
        .get_template("patient/consent_pdf.html")
        .render(
            {
                "copy": document.patient_copy,
                "signature": f"data:image/png;base64,{document.signature_png_base64}",
                "consent_id": document.consent_id,
            }
        )
    )
    return html_to_pdf(html)


@router.get("/p/{token}/consent/copy.pdf")
async def patient_copy(rt: RuntimeDep, token: str, actor: UsedConsentLink) -> Response:
    """The patient's copy of the consent signed through this link."""
    document = await run_in_threadpool(consents.copy_for_link, rt, actor)
    pdf = await run_in_threadpool(consent_pdf, document)
    return pdf_response(pdf, f"consent-{document.consent_id}.pdf")


@router.get("/app/consents/{consent_id}.pdf")
async def clinic_copy(rt: RuntimeDep, consent_id: int, actor: ConsentsRead) -> Response:
    """The clinic's copy: the same document as the patient's."""
    document = await run_in_threadpool(consents.consent_document, rt, actor, consent_id)
    pdf = await run_in_threadpool(consent_pdf, document)
    return pdf_response(pdf, f"consent-{document.consent_id}.pdf")
