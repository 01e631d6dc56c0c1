"""``/p/{token}/consent``: the patient reads the consent, shows they understood it, and
signs (a typed name and a drawn signature), through a consent link.

The text is the one the JSON twin serves (:func:`needlewise.services.consents.
consent_text_for_link`): every risk with its frequency in plain words from
``risks.yaml``, in the patient's language. Before signing, the patient answers the
knowledge base's understanding questions (``consent.yaml``, ``comprehension``); a wrong
answer shows the explanation again (with the risk's frequency as the text words it) and
the patient answers again. Nothing is stored until every answer is right.

Signing sends what ``POST /api/p/{token}/consent`` sends
(:class:`~needlewise.services.consent_models.LinkConsentIn`: the language and
``text_sha256`` of the text shown, the typed name, the drawn signature as a PNG data URL
that ``signature.js`` puts in a hidden field, and who signs) to
:func:`~needlewise.services.consents.sign_via_link`; the link is used up. A signature
must be drawn (the service stores a PNG): without scripts the page says so. The text
changed since it was shown (409): the page shows the new text to read again.

After signing: the PDF copy (:mod:`needlewise.web.pages.consent_pdf`) and the take-home
sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse

from needlewise.errors import Conflict
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema.consent import ComprehensionQuestion
from needlewise.languages import LANGUAGES, as_language
from needlewise.services import consents
from needlewise.services.consent_models import LinkConsentIn
from needlewise.services.consent_text import ConsentText
from needlewise.web.api.deps import ConsentLink, Knowledge, RuntimeDep
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.form_guard import read_form
from needlewise.web.pages.patient_link import link_language
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

SIGNER_ROLES = ("patient", "guardian")


@dataclass
class Block:
    """A block of the consent text as the page shows it (the words are the text's own)."""

    heading: str | None
    paragraphs: list[str]
    items: list[str]


def blocks_of(text: ConsentText) -> list[Block]:
    """The signed text in blocks: a block's first line is its heading when more lines
    follow; lines starting with "- " are list items (the title is the page's heading)."""
    blocks: list[Block] = []
    for raw in text.text.strip("\n").split("\n\n")[1:]:
        lines = raw.split("\n")
        heading = lines.pop(0) if len(lines) > 1 else None
        blocks.append(
            Block(
                heading=heading,
                paragraphs=[line for line in lines if not line.startswith("- ")],
                items=[line[2:] for line in lines if line.startswith("- ")],
            )
        )
    return blocks


@dataclass
class Check:
    """An understanding question as the page shows it."""

    key: str
    question: str
    choices: list[tuple[str, str]]
    explanation: str
    frequency: str | None
    sources: list[Any]
    chosen: str | None = None
    wrong: bool = False
    missing: bool = False


def checks_of(kb: KnowledgeBase, text: ConsentText, form: FormData | None = None) -> list[Check]:
    """The knowledge base's questions in ``text``'s language, with the answers of
    ``form`` (if sent) marked wrong or missing."""
    language = text.language
    frequencies = {r.id: f"{r.title}: {r.frequency}." for r in text.risks}
    out = []
    for question in kb.data.consent.comprehension:
        check = Check(
            key=question.key,
            question=question.question.get(language),
            choices=[(c.key, c.text.get(language)) for c in question.choices],
            explanation=question.explanation.get(language),
            frequency=frequencies.get(question.risk) if question.risk else None,
            sources=sources_of(kb, question.sources),
        )
        if form is not None:
            sent = form.get(f"check-{question.key}")
            check.chosen = sent if isinstance(sent, str) else None
            check.missing = not check.chosen
            check.wrong = bool(check.chosen) and check.chosen != _right(question)
        out.append(check)
    return out


def _right(question: ComprehensionQuestion) -> str:
    return next(c.key for c in question.choices if c.correct)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _page(
    request: Request,
    token: str,
    kb: KnowledgeBase,
    text: ConsentText,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    checks = checks_of(kb, text, form)
    errors = dict(errors or {})
    values = {
        "typed_name": _field(form, "typed_name") if form is not None else "",
        "signer_role": _field(form, "signer_role") if form is not None else "patient",
        "signature": _field(form, "signature") if form is not None else "",
    }
    return render(
        request,
        "patient/consent.html",
        {
            "token": token,
            "text": text,
            "blocks": blocks_of(text),
            "checks": checks,
            "errors": errors,
            "values": values,
            "notice": notice,
            "checked": form is not None,
        },
        language=as_language(text.language) or LANGUAGES[0],
        status=status,
    )


@router.get("/p/{token}/consent", response_class=HTMLResponse)
async def consent_form(
    request: Request, rt: RuntimeDep, kb: Knowledge, token: str, actor: ConsentLink
) -> HTMLResponse:
    """The consent to read, the understanding questions, and the signature."""
    await run_in_threadpool(link_language, request, rt, actor)
    text = await run_in_threadpool(consents.consent_text_for_link, rt, actor)
    return _page(request, token, kb, text)


def _signing_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in exc.errors():
        where = str(problem["loc"][0]) if problem["loc"] else ""
        if where in ("typed_name", "signer_name"):
            errors["typed_name"] = "name"
        elif where == "signature_png":
            errors["signature"] = "signature"
        else:
            errors["form"] = "form"
    return errors


@router.post("/p/{token}/consent", response_class=HTMLResponse)
async def sign(
    request: Request, rt: RuntimeDep, kb: Knowledge, token: str, actor: ConsentLink
) -> HTMLResponse:
    """Sign (once) when every understanding answer is right; else the form again."""
    form = await read_form(request, actor)
    await run_in_threadpool(link_language, request, rt, actor)
    text = await run_in_threadpool(consents.consent_text_for_link, rt, actor)
    checks = checks_of(kb, text, form)
    errors: dict[str, str] = {}
    typed_name = _field(form, "typed_name")
    role = _field(form, "signer_role") or "patient"
    signature = _field(form, "signature")
    if not typed_name:
        errors["typed_name"] = "name"
    if role not in SIGNER_ROLES:
        errors["signer_role"] = "role"
    if not signature:
        errors["signature"] = "missing"
    if errors or any(c.wrong or c.missing for c in checks):
        return _page(request, token, kb, text, form, errors, status=422)
    try:
        data = LinkConsentIn.model_validate(
            {
                "language": _field(form, "language"),
                "typed_name": typed_name,
                "signature_png": signature,
                "signer_name": typed_name,
                "signer_role": role,
                "text_sha256": _field(form, "text_sha256") or None,
            }
        )
    except ValidationError as exc:
        return _page(request, token, kb, text, form, _signing_errors(exc), status=422)
    try:
        out, _copy_text = await run_in_threadpool(consents.sign_via_link, rt, actor, data)
    except Conflict:
        return _page(request, token, kb, text, None, notice="changed", status=409)
    return render(
        request,
        "patient/consent_done.html",
        {"token": token, "consent_id": out.id, "signed_language": out.language},
        language=as_language(text.language) or LANGUAGES[0],
    )
