"""A patient on a phone, from signed links only: in Spanish, answers the intake by keyboard
alone, signs the consent with a drawn signature (after one wrong understanding answer)
and downloads the PDF copy, then sends a check-in and is told to call 911 first. Every
page is checked with axe and photographed, in Spanish and (a second pass) in English."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from needlewise.knowledge.base import KnowledgeBase
from support.browser import PHONE, check_accessibility, patient_links, screenshot
from support.server import Server


def look(page: Any, name: str) -> None:
    check_accessibility(page, name)
    screenshot(page, name)


def answer_intake_by_keyboard(page: Any) -> None:
    """Tab through the questions; each gets "No" (ArrowDown from "Yes"); Enter on "Next"
    and, at the end, on "Send"."""
    for _ in range(600):
        page.keyboard.press("Tab")
        kind = page.evaluate(
            "(() => { const e = document.activeElement; if (!e) return '';"
            " if (e.type === 'radio') return e.checked ? 'checked' : 'radio';"
            " if (e.matches('[data-step=next]')) return 'next';"
            " if (e.matches('[data-submit]')) return 'send'; return ''; })()"
        )
        if kind == "radio":
            page.keyboard.press("ArrowDown")
        elif kind == "next":
            page.keyboard.press("Enter")
        elif kind == "send":
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
    raise AssertionError("the intake could not be finished by keyboard")


def draw_signature(page: Any) -> None:
    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    assert box is not None
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + step * 25, y + (18 if step % 2 else -18), steps=3)
    page.mouse.up()


def right_answers(kb: KnowledgeBase) -> dict[str, str]:
    return {
        q.key: next(c.key for c in q.choices if c.correct) for q in kb.data.consent.comprehension
    }


def test_a_patient_in_spanish_on_a_phone(
    chromium: Any, demo_server: Server, kb: KnowledgeBase, tmp_path: Path
) -> None:
    tokens = patient_links(demo_server, "en", "Lucía")
    context = chromium.new_context(**PHONE, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    # the first page: the language first; Spanish is picked and remembered
    page.goto(f"{demo_server.base}/p/{tokens['intake']}")
    page.get_by_role("link", name="Español").first.click()
    page.wait_for_url("**?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Hola, Lucía" in page.locator("main").inner_text()
    look(page, "patient-landing-es-phone")

    # intake, by keyboard alone, a few questions per screen
    page.get_by_role("link", name="Empezar las preguntas").click()
    page.wait_for_url("**/intake")
    page.wait_for_load_state("load")
    assert page.locator("fieldset.question:visible").count() <= 4
    look(page, "patient-intake-es-phone")
    answer_intake_by_keyboard(page)
    assert "Su clínica revisará sus respuestas" in page.locator("main").inner_text()
    look(page, "patient-intake-done-es-phone")

    # consent: one wrong answer explains again; then right, with a drawn signature
    page.goto(f"{demo_server.base}/p/{tokens['consent']}/consent")
    assert page.locator("html").get_attribute("lang") == "es"
    look(page, "patient-consent-es-phone")
    right = right_answers(kb)
    for key, choice in right.items():
        wrong = next(
            c.key
            for c in next(q for q in kb.data.consent.comprehension if q.key == key).choices
            if not c.correct
        )
        page.locator(
            f"input[name='check-{key}'][value='{wrong if key == 'bruise' else choice}']"
        ).check()
    page.fill("#typed_name", "Lucía Prueba")
    draw_signature(page)
    assert page.locator("#signature").input_value().startswith("data:image/png;base64,")
    page.get_by_role("button", name="Firmar el consentimiento").click()
    assert "Esa no es la respuesta correcta" in page.locator("#check-bruise").inner_text()
    look(page, "patient-consent-wrong-es-phone")
    page.locator(f"input[name='check-bruise'][value='{right['bruise']}']").check()
    if not page.locator("#signature").input_value():
        draw_signature(page)
    page.get_by_role("button", name="Firmar el consentimiento").click()
    assert page.locator("h1").inner_text() == "Gracias por firmar"
    look(page, "patient-consent-done-es-phone")
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar mi copia (PDF)").click()
    saved = tmp_path / "copy.pdf"
    download.value.save_as(saved)
    text = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    assert "Consentimiento para punción seca" in text
    assert "Lucía Prueba" in text

    # check-in: trouble breathing -> call 911 first
    page.goto(f"{demo_server.base}/p/{tokens['check-in']}/check-in")
    look(page, "patient-check-in-es-phone")
    page.locator("input[name='symptom.breathing-trouble'][value='Y']").check()
    page.fill("#temperature", "37.2")
    page.locator("input[name='temperature_unit'][value='Cel']").check()
    page.get_by_role("button", name="Enviar").click()
    first = page.locator("main a").first
    assert first.get_attribute("href") == "tel:911"
    assert first.inner_text() == "Llame al 911 ahora"
    look(page, "patient-check-in-done-es-phone")

    # the used intake link: a kind page in Spanish
    page.goto(f"{demo_server.base}/p/{tokens['intake']}/intake")
    assert "Pida a su clínica un enlace nuevo" in page.locator("main").inner_text()
    look(page, "patient-link-used-es-phone")
    # a CSP refusal or a script error shows up here (the 422 and 410 pages are expected)
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
    context.close()


def test_the_same_pages_in_english(chromium: Any, demo_server: Server, kb: KnowledgeBase) -> None:
    tokens = patient_links(demo_server, "en", "Lucy")
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{demo_server.base}/p/{tokens['intake']}?lang=en")
    look(page, "patient-landing-en-phone")
    page.goto(f"{demo_server.base}/p/{tokens['intake']}/intake")
    look(page, "patient-intake-en-phone")
    page.evaluate(
        "document.querySelectorAll('fieldset.question:not([data-follows]) input[value=N]')"
        ".forEach(i => { i.checked = true; });"
        "document.querySelector('form[data-steps]').requestSubmit();"
    )
    page.wait_for_selector("text=Your clinic will review your answers")
    look(page, "patient-intake-done-en-phone")
    page.goto(f"{demo_server.base}/p/{tokens['consent']}/consent")
    look(page, "patient-consent-en-phone")
    for key, choice in right_answers(kb).items():
        page.locator(f"input[name='check-{key}'][value='{choice}']").check()
    page.fill("#typed_name", "Lucy Prueba")
    draw_signature(page)
    page.get_by_role("button", name="Sign the consent").click()
    assert page.locator("h1").inner_text() == "Thank you for signing"
    look(page, "patient-consent-done-en-phone")
    page.goto(f"{demo_server.base}/p/{tokens['check-in']}/check-in")
    look(page, "patient-check-in-en-phone")
    for name in page.locator("section.symptom-group").first.locator("input[value=N]").all():
        name.check()
    page.locator("input[name='symptom.fever'][value='Y']").check()
    page.get_by_role("button", name="Send", exact=True).click()
    look(page, "patient-check-in-done-en-phone")
    context.close()


def tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} could not be reached with the Tab key")


def test_consent_and_check_in_by_keyboard_alone(
    chromium: Any, demo_server: Server, kb: KnowledgeBase
) -> None:
    """No mouse, no touch: the understanding questions by arrow keys, the name typed,
    the signature made from the typed name (for anyone who cannot draw), the consent
    sent with Enter; then a check-in sent the same way."""
    tokens = patient_links(demo_server, "es", "Teclado")
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{demo_server.base}/p/{tokens['consent']}/consent")
    for question in kb.data.consent.comprehension:
        right = next(index for index, c in enumerate(question.choices) if c.correct)
        tab_to(page, f"input[name='check-{question.key}']")
        page.keyboard.press("Space")  # the first choice of the group, then arrows
        for _ in range(right):
            page.keyboard.press("ArrowDown")
        checked = page.locator(f"input[name='check-{question.key}']:checked")
        assert checked.get_attribute("value") == question.choices[right].key
    tab_to(page, "#typed_name")
    page.keyboard.type("Teclado Prueba")
    tab_to(page, "#signature-typed")
    page.keyboard.press("Enter")
    assert page.locator("#signature").input_value().startswith("data:image/png;base64,")
    assert "firma" in page.locator("#signature-status").inner_text()
    tab_to(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Gracias por firmar"
    screenshot(page, "patient-consent-keyboard-es-phone")

    page.goto(f"{demo_server.base}/p/{tokens['check-in']}/check-in")
    tab_to(page, "input[name='symptom.breathing-trouble']")
    page.keyboard.press("Space")  # "Yes" is the first choice
    assert (
        page.locator("input[name='symptom.breathing-trouble']:checked").get_attribute("value")
        == "Y"
    )
    tab_to(page, "form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("main a").first.get_attribute("href") == "tel:911"
    context.close()
