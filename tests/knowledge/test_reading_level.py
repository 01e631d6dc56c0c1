"""Reading level of every patient-facing text in the knowledge base (content review 9).

Every patient-facing string of at least 15 words is scored in both languages with
textstat: red-flag and aftercare text (symptoms, escalations, dispositions, triage
policies, the consent's after-treatment section, the take-home aftercare sheet) at or below
grade 6 (Flesch-Kincaid) and at or above 70 (Fernández-Huerta); everything else a patient
reads at or below grade 8 and at or above 60 (clinical-knowledge.md section 8.1). English
uses both textstat's syllable count and the stricter count of ``test_symptom_data`` (the
higher grade decides). Clinician-facing text (rationales, clinician notes, the emergency
plan, override reasons) is not scored.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Text
from support.readability import fernandez_huerta, flesch_kincaid_grades

MIN_WORDS = 15
#: (English grade at most, Spanish Fernández-Huerta at least)
RED_FLAG = (6.0, 70.0)
GENERAL = (8.0, 60.0)


def _texts(kb: KnowledgeBase) -> Iterator[tuple[str, Text, tuple[float, float]]]:
    """(label, text, limits) for every patient-facing text."""
    data = kb.data
    for rule in data.contraindications:
        yield f"{rule.id}.title", rule.title, GENERAL
        yield f"{rule.id}.question", rule.question, GENERAL
        if rule.help is not None:
            yield f"{rule.id}.help", rule.help, GENERAL
    for symptom in data.symptoms:
        yield f"{symptom.id}.title", symptom.title, RED_FLAG
        yield f"{symptom.id}.question", symptom.question, RED_FLAG
        if symptom.advice is not None:
            yield f"{symptom.id}.advice", symptom.advice, RED_FLAG
    for escalation in data.escalations:
        yield f"{escalation.id}.explanation", escalation.explanation, RED_FLAG
        if escalation.if_conditions_unknown is not None:
            yield (
                f"{escalation.id}.if_conditions_unknown",
                escalation.if_conditions_unknown,
                RED_FLAG,
            )
    for disposition in data.dispositions:
        yield f"{disposition.id}.advice", disposition.advice, RED_FLAG
    for policy in data.policies:
        if policy.engine == "triage":
            yield f"{policy.id}.explanation", policy.explanation, RED_FLAG
    for risk in data.risks:
        yield f"{risk.id}.description", risk.description, GENERAL
        for n, figure in enumerate(risk.incidence):
            for name in ("counts", "caveat"):
                value = getattr(figure, name)
                if value is not None:
                    yield f"{risk.id}.incidence[{n}].{name}", value, GENERAL
    consent = data.consent
    yield "consent.intro", consent.intro, GENERAL
    yield "consent.risks_intro", consent.risks_intro, GENERAL
    yield "consent.agreement", consent.agreement, GENERAL
    for section in consent.sections_before_risks + consent.sections_after_risks:
        limits = RED_FLAG if section.emergency_signs or section.call_signs else GENERAL
        yield f"consent.{section.key}.body", section.body, limits
    sheet = data.aftercare_sheet
    yield "aftercare.intro", sheet.intro, RED_FLAG
    for part in (sheet.lung_signs, sheet.infection_signs, sheet.self_care, sheet.driving):
        for n, paragraph in enumerate(part.paragraphs):
            yield f"aftercare.{part.key}.paragraphs[{n}]", paragraph, RED_FLAG
        for n, bullet in enumerate(part.bullets):
            yield f"aftercare.{part.key}.bullets[{n}]", bullet, RED_FLAG
    for tiers in (sheet.emergency, sheet.call_today):
        yield f"aftercare.{tiers.key}.lead", tiers.lead, RED_FLAG
        for n, note in enumerate(tiers.notes):
            yield f"aftercare.{tiers.key}.notes[{n}]", note, RED_FLAG
    for addendum in data.consent_addenda:
        for n, paragraph in enumerate(addendum.body):
            yield f"{addendum.id}.body[{n}]", paragraph, GENERAL
        yield f"{addendum.id}.agreement", addendum.agreement, GENERAL
    yield "other_names.lead", data.other_names.lead, GENERAL
    yield "other_names.basis", data.other_names.basis, GENERAL
    yield "disclaimer", data.disclaimer.text, GENERAL
    checklist = data.before_treatment_checklist
    yield "checklist.lead", checklist.lead, GENERAL
    for item in checklist.items:
        yield f"{item.id}.text", item.text, GENERAL
        if item.help is not None:
            yield f"{item.id}.help", item.help, GENERAL


def _long_enough(text: str) -> bool:
    return len(text.split()) >= MIN_WORDS


def test_the_walk_finds_the_texts(kb: KnowledgeBase) -> None:
    scored = [label for label, text, _ in _texts(kb) if _long_enough(text.en)]
    assert len(scored) >= 80, len(scored)
    assert any(label.startswith("aftercare.") for label in scored)
    assert any(label.startswith("escalation.") for label in scored)


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_patient_text_reads_at_its_level(kb: KnowledgeBase, language: str) -> None:
    too_hard: dict[str, str] = {}
    for label, text, (grade, ease) in _texts(kb):
        value = text.get(language)
        if not _long_enough(value):
            continue
        if language == "en":
            score = max(flesch_kincaid_grades(value).values())
            if score > grade:
                too_hard[label] = f"grade {score:.1f} > {grade:g}: {value}"
        else:
            score = fernandez_huerta(value)
            if score < ease:
                too_hard[label] = f"Fernández-Huerta {score:.1f} < {ease:g}: {value}"
    assert too_hard == {}


def test_the_measures_tell_hard_from_easy() -> None:
    easy = "Llame al 911 si le cuesta respirar. No maneje. Pida ayuda a alguien de su casa."
    hard = (
        "La administración concomitante de anticoagulantes orales incrementa considerablemente "
        "la probabilidad de complicaciones hemorrágicas intramusculares significativas."
    )
    assert fernandez_huerta(easy) >= 70
    assert fernandez_huerta(hard) < 60


#: words the content review found confusing or misleading (sections 7 and 8)
BANNED = {
    "en": ("moves up a tier", "what you feel is common", "one of the first signs"),
    "es": ("proveedor", "sube de nivel", "lo que siente es común"),
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_jargon_or_unsupported_claims(kb: KnowledgeBase, language: str) -> None:
    found = {
        label: phrase
        for label, text, _ in _texts(kb)
        for phrase in BANNED[language]
        if phrase in text.get(language).lower()
    }
    assert found == {}


def test_spanish_differs_from_english_everywhere(kb: KnowledgeBase) -> None:
    same = [
        label
        for label, text, _ in _texts(kb)
        if _long_enough(text.en) and text.en.strip() == text.es.strip()
    ]
    assert same == []
