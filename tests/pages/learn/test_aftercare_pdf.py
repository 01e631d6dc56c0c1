"""The take-home sheet as a PDF: in the reader's language (accents intact), with the
clinic's numbers when given, and the "ask the clinic" line when not."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from needlewise.knowledge.base import KnowledgeBase
from needlewise.security.roles import Role
from needlewise.services import links
from needlewise.web.pages.aftercare_document import ClinicPhones, aftercare_pdf
from needlewise.web.pages.learn import public_sheet_pdf
from support.pages import sign_in
from support.service import Service, make_service, seed_clinic, settings_for
from support.treatment import make_patient


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


def test_staff_print_the_sheet_in_the_patients_language_with_the_clinics_numbers(
    service: Service,
) -> None:
    """After a session the chart offers the sheet filled in: the patient's language and
    the clinic's day and after-hours numbers (first and second of the clinic's list)."""

    current = service.client.get("/api/clinic", headers=service.headers(Role.admin))
    clinic = current.json()
    changed = service.client.put(
        "/api/clinic",
        json={
            "name": clinic["name"],
            "phones": ["303-555-0100", "303-555-0199"],
            "languages": clinic["languages"],
        },
        headers={**service.headers(Role.admin), "if-match": current.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    patient = make_patient(service, language="es")
    sign_in(service.client, service.users[Role.clinician].email)
    answer = service.client.get(f"/app/patients/{patient}/aftercare.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    text = text_of(answer.content)
    assert "Después de la punción seca" in text
    assert "303-555-0100" in text
    assert "303-555-0199" in text
    assert "pida este número a la clínica" not in text


def test_a_patient_gets_the_sheet_from_their_check_in_link(service: Service) -> None:

    patient = make_patient(service, language="es")
    token = links.create_link(
        service.runtime,
        service.actor(Role.front_desk),
        patient,
        links.LinkIn(purpose="check-in"),
    ).token
    answer = service.client.get(f"/p/{token}/aftercare.pdf")
    assert answer.status_code == 200
    text = text_of(answer.content)
    assert "Después de la punción seca" in text
    assert "555-0100" in text  # the seeded clinic's number
    assert service.client.get(f"/p/{token[:-2]}xx/aftercare.pdf").status_code == 404


def test_the_sheet_of_another_clinics_patient_is_not_found(service: Service) -> None:

    patient = make_patient(service)
    other = seed_clinic(service.runtime, "Other Synthetic Clinic", "other.example")
    sign_in(service.client, other.users[Role.clinician].email)
    assert service.client.get(f"/app/patients/{patient}/aftercare.pdf").status_code == 404
