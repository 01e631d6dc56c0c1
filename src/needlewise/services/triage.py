"""Use case: triage an after-treatment check-in.

Input is either an aftercare QuestionnaireResponse or the triage JSON documented in
``docs/cli.md``::

    {"symptoms": ["symptom.chest-pain"], "temperature": {"value": 38.2, "unit": "Cel"},
     "hours_since_treatment": 20, "treated_regions": ["region.upper-back"],
     "text": "free text", "language": "es"}

Every field is optional. Free text (``text``, or the aftercare form's ``details``) is
read by ``nlp/`` in the language of the check-in, with every supported language's
vocabulary: a symptom mentioned without a clear denial counts as present, and what the
text adds can only raise the disposition (``domain/triage_text.py``). spaCy is imported
only when a check-in has text.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from needlewise.domain.facts import HoursWindow, ReportedSymptom, SymptomReport
from needlewise.domain.triage import TriageResult, triage
from needlewise.errors import InputError
from needlewise.interop.fhir.aftercare import check_temperature, read_aftercare_response
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.documents import check_language, validate

MAX_TEXT = 5000


class TemperatureIn(BaseModel):
    """A measured temperature in UCUM units."""

    model_config = ConfigDict(extra="forbid")
    value: StrictFloat = Field(description="The reading, e.g. 38.2")
    unit: str = Field(description="'Cel' (°C) or '[degF]' (°F)")


class TriageRequest(BaseModel):
    """A check-in in needlewise's own JSON form. Every field is optional."""

    model_config = ConfigDict(extra="forbid")
    symptoms: list[str] = Field(default=[], description="Symptom ids, e.g. symptom.chest-pain")
    temperature: TemperatureIn | None = None
    hours_since_treatment: StrictFloat | None = Field(default=None, ge=0, le=24 * 365)
    treated_regions: list[str] | None = Field(
        default=None, description="Region ids (region.upper-back, or upper-back)"
    )
    text: str | None = Field(
        default=None, max_length=MAX_TEXT, description="The patient's own words"
    )
    language: Literal["en", "es"] = "en"


def _from_json(document: Any, kb: KnowledgeBase) -> tuple[SymptomReport, str | None]:
    request = validate(TriageRequest, document)
    symptoms = []
    for i, symptom_id in enumerate(request.symptoms):
        if kb.symptom(symptom_id) is None:
            raise InputError(
                f"unknown symptom {symptom_id!r}; `needlewise kb show symptom` lists them",
                f"$.symptoms[{i}]",
            )
        symptoms.append(ReportedSymptom(symptom_id, f"reported: {symptom_id}"))
    temperature = None
    if request.temperature is not None:
        temperature = check_temperature(
            request.temperature.value, request.temperature.unit, "$.temperature"
        )
    regions = None
    if request.treated_regions is not None:
        regions = []
        for i, raw in enumerate(request.treated_regions):
            region = raw if raw.startswith("region.") else f"region.{raw}"
            if kb.region(region) is None:
                raise InputError(f"unknown treated region {raw!r}", f"$.treated_regions[{i}]")
            regions.append(region)
    hours = (
        HoursWindow.exactly(request.hours_since_treatment)
        if request.hours_since_treatment is not None
        else None
    )
    report = SymptomReport(
        symptoms=tuple(symptoms),
        temperature=temperature,
        hours=hours,
        regions=tuple(regions) if regions is not None else None,
        language=request.language,
    )
    return report, request.text


def _from_questionnaire(
    document: dict[str, Any], kb: KnowledgeBase
) -> tuple[SymptomReport, str | None]:
    data = read_aftercare_response(document, kb)
    language = check_language(data.language) if data.language else "en"
    report = SymptomReport(
        symptoms=tuple(data.symptoms),
        temperature=data.temperature,
        hours=data.hours,
        regions=data.regions,
        language=language,
        unanswered_red_flags=data.unanswered_red_flags,
    )
    return report, data.text


def with_free_text(report: SymptomReport, text: str | None, kb: KnowledgeBase) -> SymptomReport:
    """The report with what the patient wrote attached (read in the report's language).

    A message that is empty or only spaces is no message: nothing is read.
    """
    if text is None or not text.strip():
        return report
    from needlewise.nlp import read_message  # spaCy loads here, only when there is text

    return replace(report, free_text=read_message(text, report.language, kb))


def triage_document(document: Any, kb: KnowledgeBase) -> TriageResult:
    """Triage a check-in given as triage JSON or an aftercare QuestionnaireResponse."""
    if isinstance(document, dict) and "resourceType" in document:
        if document["resourceType"] != "QuestionnaireResponse":
            raise InputError(
                f"expected a QuestionnaireResponse or the triage JSON, found {document['resourceType']!r}",
                "$.resourceType",
            )
        report, text = _from_questionnaire(document, kb)
    elif isinstance(document, dict):
        report, text = _from_json(document, kb)
    else:
        raise InputError("expected a JSON object (triage JSON or a QuestionnaireResponse)")
    return triage(with_free_text(report, text, kb), kb)
