"""Use case: screen one patient for contraindications from FHIR input."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any

from needlewise.domain.facts import PatientFacts
from needlewise.domain.screening import ScreeningResult, screen
from needlewise.interop.fhir.bundle import read_screening_document
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.documents import check_language


def screen_document(
    document: Any,
    kb: KnowledgeBase,
    *,
    as_of: date | None = None,
    electrical_stimulation: bool | None = None,
    language: str = "en",
) -> ScreeningResult:
    """Screen a FHIR Bundle and/or intake QuestionnaireResponse (parsed JSON).

    ``as_of`` is the screening date (today by default; ages are computed on it).
    ``electrical_stimulation`` says whether the plan includes it (``None``: not known,
    which counts as planned for rules that depend on it). Raises ``InputError``.
    """
    language = check_language(language)
    data = read_screening_document(document, kb)
    facts = PatientFacts(
        as_of=as_of or date.today(),
        answers=MappingProxyType(dict(data.answers)),
        records=tuple(data.records),
        birth_date=data.birth_date,
        birth_date_recorded=data.birth_date_recorded,
        patient_reference=data.patient_reference,
        electrical_stimulation=electrical_stimulation,
    )
    return screen(facts, kb, language)
