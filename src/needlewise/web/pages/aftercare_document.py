"""The take-home aftercare sheet as a document a patient keeps: HTML for print and PDF.

The words are the knowledge base's sheet (:func:`needlewise.services.aftercare_sheet.
aftercare_sheet`, the same function as its JSON twin), in the reader's language, with the
clinic's phone numbers. The public sheet of ``/learn/aftercare`` has no clinic, so each
number shows the sheet's "ask the clinic for this number and write it here" line.

:func:`aftercare_pdf` is for every page that hands the sheet over: the public
``/learn/aftercare.pdf``, and the patient-link pages after consent and after each
session, which pass the clinic's numbers in :class:`ClinicPhones`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from needlewise.knowledge.base import KnowledgeBase
from needlewise.languages import Language, as_language
from needlewise.services.aftercare_sheet import AftercareSheetOut, aftercare_sheet
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.pdf import html_to_pdf
from needlewise.web.pages.rendering import environment

PDF_TEMPLATE = "learn/aftercare_pdf.html"


@dataclass(frozen=True)
class ClinicPhones:
    """The clinic's numbers for the sheet (``None`` or blank: not known)."""

    day: str | None = None
    after_hours: str | None = None


def sheet_for(kb: KnowledgeBase, language: str, phones: ClinicPhones | None) -> AftercareSheetOut:
    """The sheet in ``language`` with ``phones`` filled in."""
    phones = phones or ClinicPhones()
    return aftercare_sheet(kb, language, phones.day, phones.after_hours)


def sheet_context(kb: KnowledgeBase, sheet: AftercareSheetOut) -> dict[str, Any]:
    """What the sheet's templates show besides the sheet: its sources and review date."""
    data = kb.data.aftercare_sheet
    return {
        "sheet": sheet,
        "sheet_sources": sources_of(kb, data.sources),
        "sheet_reviewed": data.reviewed.isoformat(),
    }


def aftercare_html(kb: KnowledgeBase, language: str, phones: ClinicPhones | None = None) -> str:
    """The sheet as a whole HTML document for printing to PDF."""
    lang: Language = as_language(language) or "en"
    sheet = sheet_for(kb, lang, phones)
    template = environment(lang).get_template(PDF_TEMPLATE)
    return template.render(sheet_context(kb, sheet))


def aftercare_pdf(kb: KnowledgeBase, language: str, phones: ClinicPhones | None = None) -> bytes:
    """The sheet as PDF bytes in ``language`` ("en" or "es"; English otherwise), with the
    clinic's ``phones`` (the "ask the clinic" line where a number is not known)."""
    return html_to_pdf(aftercare_html(kb, language, phones))
