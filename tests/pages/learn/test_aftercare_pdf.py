"""The take-home sheet as a PDF: in the reader's language (accents intact), with the
clinic's numbers when given, and the "ask the clinic" line when not."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from needlewise.knowledge.base import KnowledgeBase
from needlewise.web.pages.aftercare_document import ClinicPhones, aftercare_pdf
from needlewise.web.pages.learn import public_sheet_pdf
from support.service import make_service, settings_for


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_spanish_sheet_keeps_its_accents(kb: KnowledgeBase) -> None:
    text = text_of(aftercare_pdf(kb, "es"))
    assert "Después de la punción seca: qué debe vigilar" in text
    assert "Llame al 911 de inmediato" in text
    assert "Dificultad para respirar" in text
    assert "pida este número a la clínica" in text
    assert "En una emergencia, llame primero al 911." in text


def test_the_clinics_numbers_are_on_the_sheet(kb: KnowledgeBase) -> None:
    text = text_of(
        aftercare_pdf(kb, "en", ClinicPhones(day="303-555-0100", after_hours="303-555-0199"))
    )
    assert "During the day: 303-555-0100" in text
    assert "At night and on weekends: 303-555-0199" in text
    assert "ask the clinic for this number" not in text


def test_an_unsupported_language_gets_english(kb: KnowledgeBase) -> None:
    assert "After dry needling: what to watch for" in text_of(aftercare_pdf(kb, "fr"))


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_pdf_route(tmp_path: Path, valuesets_dir: Path, language: str) -> None:
    with make_service(
        settings_for(f"sqlite:///{tmp_path / 'db.sqlite'}", valuesets_dir)
    ) as service:
        answer = service.client.get(f"/learn/aftercare.pdf?lang={language}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="aftercare-sheet-{language}.pdf"'
    )
    title = {"en": "After dry needling", "es": "Después de la punción seca"}[language]
    assert title in text_of(answer.content)


def test_the_public_pdf_is_made_once_per_language(kb: KnowledgeBase) -> None:
    first = public_sheet_pdf(kb, "es")
    assert public_sheet_pdf(kb, "es") is first
    assert public_sheet_pdf(kb, "en") is not first
