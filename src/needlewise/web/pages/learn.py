"""``/learn``: patient education, open to everyone (no sign-in, no patient data).

* ``/learn`` — a card per article (title, one-line teaser, specialty tag);
* ``/learn/{topic}`` — one article (``knowledge/data/articles``, see
  :mod:`needlewise.knowledge.articles`) with the disclaimer that it does not replace the
  clinician's advice, its sources and review date; the dry-needling article also shows
  the knowledge base's "before your treatment" checklist. An unknown topic is a 404 page;
* ``/learn/who-can-do-it?state=CO`` — who may do dry needling in a state: the scope
  service (the same :func:`needlewise.services.scope.lookup_scope` as
  ``GET /api/scope/{state}``) for every profession, with sources and as-of dates;
* ``/learn/aftercare`` and ``/learn/aftercare.pdf`` — the take-home sheet to print or
  keep (:mod:`needlewise.web.pages.aftercare_document`); without a clinic, the phone
  lines say to ask the clinic for the number.

Every page speaks the reader's language (``?lang=``, then the cookie) and prints cleanly.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from needlewise.domain.scope import PROFESSIONS, ScopeResult
from needlewise.errors import InputError, NotFound
from needlewise.knowledge.articles import MAIN_TOPIC, Specialty, articles_for
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.scope import lookup_scope
from needlewise.translations import N_
from needlewise.web.api.deps import Knowledge
from needlewise.web.pages.aftercare_document import (
    ClinicPhones,
    aftercare_pdf,
    sheet_context,
    sheet_for,
)
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.pdf import pdf_response
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

#: the label of each specialty tag (translated by the templates)
SPECIALTIES: dict[Specialty, str] = {
    Specialty.physical_therapy: N_("Physical therapy"),
    Specialty.acupuncture: N_("Acupuncture"),
    Specialty.pain_medicine: N_("Pain medicine"),
    Specialty.neurology: N_("Neurology"),
}

#: scope status -> (badge kind, what it means for a patient)
STATUSES: dict[str, tuple[str, str]] = {
    "allowed": ("ok", N_("Allowed")),
    "not-permitted": ("danger", N_("Not allowed")),
    "silent": ("warn", N_("The state's rules do not say")),
    "unknown": ("none", N_("We do not know")),
}


@router.get("/learn", response_class=HTMLResponse)
def learn_index(request: Request, kb: Knowledge) -> HTMLResponse:
    """Every article as a card, the main one first; links to the state answer and the
    take-home sheet."""
    lang = chosen_language(request)
    return render(
        request,
        "learn/index.html",
        {"articles": articles_for(kb).in_language(lang), "specialties": SPECIALTIES},
        language=lang,
    )


@router.get("/learn/who-can-do-it", response_class=HTMLResponse)
def who_can_do_it(
    request: Request,
    kb: Knowledge,
    state: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The state picker; with ``?state=``, each profession's answer for that state."""
    lang = chosen_language(request)
    chosen = (state or "").strip().upper()
    results: list[ScopeResult] = []
    error: str | None = None
    if chosen:
        try:
            results = [lookup_scope(kb, chosen, code, lang) for code in PROFESSIONS]
        except InputError:
            error = N_("Please choose a state from the list.")
    states = sorted(kb.data.states, key=lambda s: s.title.get(lang))
    return render(
        request,
        "learn/scope.html",
        {
            "states": states,
            "chosen": chosen,
            "results": results,
            "error": error,
            "statuses": STATUSES,
            "sources_of": lambda ids: sources_of(kb, ids),
        },
        language=lang,
        status=422 if error else 200,
    )


@router.get("/learn/aftercare", response_class=HTMLResponse)
def aftercare_page(request: Request, kb: Knowledge) -> HTMLResponse:
    """The take-home sheet as a page to read or print (the PDF is one click away)."""
    lang = chosen_language(request)
    sheet = sheet_for(kb, lang, ClinicPhones())
    return render(request, "learn/aftercare.html", sheet_context(kb, sheet), language=lang)


#: the public sheet's PDF per (knowledge sha256, language): it names no clinic, so it is
#: made once — an open page must not let anyone keep the PDF renderer busy
_PUBLIC_PDFS: dict[tuple[str, str], bytes] = {}


def public_sheet_pdf(kb: KnowledgeBase, language: str) -> bytes:
    """The public take-home sheet (no clinic numbers) as PDF, made once per language."""
    key = (kb.sha256, language)
    if key not in _PUBLIC_PDFS:
        _PUBLIC_PDFS[key] = aftercare_pdf(kb, language, ClinicPhones())
    return _PUBLIC_PDFS[key]


@router.get("/learn/aftercare.pdf")
def aftercare_document(request: Request, kb: Knowledge) -> Response:
    """The take-home sheet as a PDF in the reader's language."""
    lang = chosen_language(request)
    return pdf_response(public_sheet_pdf(kb, lang), f"aftercare-sheet-{lang}.pdf")


@router.get("/learn/{topic}", response_class=HTMLResponse)
def learn_article(request: Request, topic: str, kb: Knowledge) -> HTMLResponse:
    """One article in the reader's language (404 page for an unknown topic)."""
    lang = chosen_language(request)
    library = articles_for(kb)
    article = library.get(topic, lang)
    if article is None:
        raise NotFound("there is no article on this topic")
    return render(
        request,
        "learn/article.html",
        {
            "article": article,
            "body": Markup(article.html),  # noqa: S704 - markdown-it output, raw HTML off
            "specialties": SPECIALTIES,
            "sources": sources_of(kb, article.meta.sources),
            "others": [a for a in library.in_language(lang) if a.topic != topic],
            **_patient_info(kb, show_checklist=topic == MAIN_TOPIC),
        },
        language=lang,
    )


def _patient_info(kb: KnowledgeBase, *, show_checklist: bool) -> dict[str, Any]:
    """The disclaimer, and (on the main article) the before-treatment checklist."""
    data = kb.data
    return {
        "disclaimer": data.disclaimer.text,
        "checklist": data.before_treatment_checklist if show_checklist else None,
    }
