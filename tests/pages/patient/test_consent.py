"""The consent through a consent link: the text with its risk figures, questions that
check understanding (a wrong answer explains again), a typed name and a drawn signature,
stored as the JSON API stores them; the PDF copy for the patient (through the used link)
and for the clinic is the same document."""

from __future__ import annotations

import base64
import io

import httpx
from pypdf import PdfReader

from needlewise.security.roles import Role
from support.audit import last_id, the_one_entry
from support.pages import form_token, sign_in, soup, visible_text
from support.service import Service
from support.treatment import signature_png

from .helpers import consent_form, patient_with_link


def consents_of(service: Service, patient_id: int) -> list[dict[str, object]]:
    answer = service.client.get(
        f"/api/consents?patient_id={patient_id}", headers=service.headers(Role.clinician)
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def pdf_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_text_shows_the_risks_with_their_frequencies(service: Service) -> None:
    _patient, token = patient_with_link(service, "consent")
    page = service.client.get(f"/p/{token}/consent?lang=en")
    assert page.status_code == 200
    text = visible_text(page)
    assert "about 1 in 13 dry-needling treatments (7.55%, Brady 2014)" in text
    shown = service.client.get(f"/api/p/{token}/consent-text").json()
    assert soup(page).find("input", attrs={"name": "text_sha256"})["value"] == shown["sha256"]  # type: ignore[index]
    questions = soup(page).select("fieldset[id^=check-]")
    assert len(questions) == len(service.runtime.kb.data.consent.comprehension) >= 2


def test_a_wrong_answer_explains_again_and_nothing_is_stored(service: Service) -> None:
    patient_id, token = patient_with_link(service, "consent")
    page = service.client.get(f"/p/{token}/consent")
    form = {**consent_form(page, service, "Alice Synthetic"), "check-bruise": "emergency"}
    sent = service.client.post(f"/p/{token}/consent", data=form)
    assert sent.status_code == 422
    question = soup(sent).find("fieldset", id="check-bruise")
    assert question is not None
    words = " ".join(question.get_text().split())
    assert "That is not quite right" in words
    assert "A bruise is one of the common side effects" in words
    assert "about 1 in 13 dry-needling treatments" in words  # the text's own figure
    assert question.select("input[checked]") == []  # answer again
    # the rest is kept: the typed name and the drawn signature
    assert soup(sent).find("input", id="typed_name")["value"] == "Alice Synthetic"  # type: ignore[index]
    assert consents_of(service, patient_id) == []
    # answered right, it is signed
    fixed = service.client.post(f"/p/{token}/consent", data={**form, "check-bruise": "common"})
    assert fixed.status_code == 200, visible_text(fixed)[:300]
    assert len(consents_of(service, patient_id)) == 1


def test_signing_stores_the_consent_with_the_drawn_signature_and_gives_a_pdf(
    service: Service,
) -> None:
    patient_id, token = patient_with_link(service, "consent", language="es")
    page = service.client.get(f"/p/{token}/consent")
    assert soup(page).find("html")["lang"] == "es"  # type: ignore[index]
    sent = service.client.post(
        f"/p/{token}/consent", data=consent_form(page, service, "Alicia Prueba")
    )
    assert sent.status_code == 200, visible_text(sent)[:300]
    done = soup(sent)
    assert done.find("a", href=f"/p/{token}/consent/copy.pdf") is not None
    assert done.find("a", href="/learn/aftercare.pdf?lang=es") is not None
    [stored] = consents_of(service, patient_id)
    assert stored["typed_name"] == "Alicia Prueba"
    assert stored["language"] == "es"
    assert str(stored["created_by"]).startswith("link:")
    detail = service.client.get(
        f"/api/consents/{stored['id']}", headers=service.headers(Role.clinician)
    ).json()
    assert base64.b64decode(detail["signature_png_base64"]) == signature_png(40, 20)
    # the used link still gives its copy, and only that
    before = last_id(service)
    copy = pdf_text(service.client.get(f"/p/{token}/consent/copy.pdf"))
    entry = the_one_entry(service, before)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == (
        "read",
        "consent-copy",
        str(stored["id"]),
    )
    assert "Consentimiento para punción seca" in copy
    assert "Alicia Prueba" in copy
    assert "el paciente" in copy
    # but it cannot sign again
    again = service.client.post(f"/p/{token}/consent", data=consent_form(page, service, "X Y"))
    assert again.status_code == 410
    # the clinic's copy is the same document
    sign_in(service.client, service.users[Role.clinician].email)
    clinic = pdf_text(service.client.get(f"/app/consents/{stored['id']}.pdf"))
    assert clinic == copy


def test_the_clinic_copy_needs_consents_read(service: Service) -> None:
    patient_id, token = patient_with_link(service, "consent")
    page = service.client.get(f"/p/{token}/consent")
    service.client.post(f"/p/{token}/consent", data=consent_form(page, service, "Alice Synthetic"))
    [stored] = consents_of(service, patient_id)
    refused = service.client.get(f"/app/consents/{stored['id']}.pdf")
    assert refused.status_code == 303  # to the login page
    front_desk = service.headers(Role.front_desk)  # every staff role reads consents
    answer = service.client.get(f"/app/consents/{stored['id']}.pdf", headers=front_desk)
    assert answer.status_code == 200
    missing = service.client.get(
        f"/app/consents/{int(str(stored['id'])) + 99}.pdf", headers=front_desk
    )
    assert missing.status_code == 404


def test_no_signature_no_consent(service: Service) -> None:
    patient_id, token = patient_with_link(service, "consent")
    page = service.client.get(f"/p/{token}/consent")
    for signature in ("", "data:image/png;base64,bm90IGEgcG5n"):
        form = {**consent_form(page, service, "Alice Synthetic"), "signature": signature}
        sent = service.client.post(f"/p/{token}/consent", data=form)
        assert sent.status_code == 422
        assert "Please draw your signature in the box." in visible_text(sent)
    assert consents_of(service, patient_id) == []


def test_a_changed_text_is_shown_again(service: Service) -> None:
    patient_id, token = patient_with_link(service, "consent")
    page = service.client.get(f"/p/{token}/consent")
    form = {**consent_form(page, service, "Alice Synthetic"), "text_sha256": "0" * 64}
    sent = service.client.post(f"/p/{token}/consent", data=form)
    assert sent.status_code == 409
    assert "This form was updated while you were reading it" in visible_text(sent)
    assert consents_of(service, patient_id) == []


def test_the_copy_of_an_unsigned_link_is_not_found(service: Service) -> None:
    _patient, token = patient_with_link(service, "consent")
    assert service.client.get(f"/p/{token}/consent/copy.pdf").status_code == 404


def test_without_the_form_token_nothing_is_signed(service: Service) -> None:
    patient_id, token = patient_with_link(service, "consent")
    page = service.client.get(f"/p/{token}/consent")
    form = consent_form(page, service, "Alice Synthetic")
    del form["form_token"]
    assert service.client.post(f"/p/{token}/consent", data=form).status_code == 403
    assert consents_of(service, patient_id) == []
    assert form_token(service.client, f"/p/{token}/consent")  # still usable
