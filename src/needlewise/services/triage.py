"""Use case: triage an after-treatment check-in.

Input is either an aftercare QuestionnaireResponse or the triage JSON documented in
``docs/cli.md``::

    {"symptoms": ["symptom.chest-pain"], "temperature": {"value": 38.2, "unit": "Cel"},
     "hours_since_treatment": 20, "treated_regions": ["region.upper-back"],
     "conditions": ["contraindication.joint-replacement"],
     "text": "free text", "language": "es"}

Every field is optional. ``conditions`` are the patient's conditions as contraindication
ids (``needlewise kb show contraindication`` lists them; the short form
``joint-replacement`` works too): leaving it out means the health history is not known,
``[]`` means known, none. A check-in of a clinic patient gets the findings of the
patient's latest screening as conditions (:func:`conditions_from_screening`), added to any
the answers give. Free text (``text``, or the aftercare form's ``details``) is
read by ``nlp/`` in the language of the check-in, with every supported language's
vocabulary: a symptom mentioned without a clear denial counts as present, and what the
text adds can only raise the disposition (``domain/triage_text.py``). spaCy is imported
only when a check-in has text.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from needlewise.domain.facts import HoursWindow, PatientCondition, ReportedSymptom, SymptomReport
from needlewise.domain.triage import TriageResult, triage
from needlewise.errors import InputError
from needlewise.interop.fhir.aftercare import check_temperature, read_aftercare_response
from needlewise.knowledge.base import KnowledgeBase
from needlewise.languages import Language
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
    conditions: list[str] | None = Field(
        default=None,
        max_length=100,
        description=(
            "The patient's conditions as contraindication ids (contraindication.joint-replacement,"
            " or joint-replacement); omit when not known, [] for none"
        ),
    )
    text: str | None = Field(
        default=None, max_length=MAX_TEXT, description="The patient's own words"
    )
    language: Language = "en"


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
    conditions = None
    if request.conditions is not None:
        conditions = check_conditions(request.conditions, kb, "$.conditions", "given")
    report = SymptomReport(
        symptoms=tuple(symptoms),
        temperature=temperature,
        hours=hours,
        regions=tuple(regions) if regions is not None else None,
        language=request.language,
        conditions=conditions,
    )
    return report, request.text


def check_conditions(
    ids: list[str], kb: KnowledgeBase, where: str, label: str
) -> tuple[PatientCondition, ...]:
    """Condition ids (``contraindication.x`` or ``x``) as :class:`PatientCondition`s;
    an unknown id is an :class:`InputError` naming its index under ``where``."""
    found: list[PatientCondition] = []
    for i, raw in enumerate(ids):
        rule_id = raw if raw.startswith("contraindication.") else f"contraindication.{raw}"
        if kb.contraindication(rule_id) is None:
            raise InputError(
                f"unknown condition {raw!r}; `needlewise kb show contraindication` lists them",
                f"{where}[{i}]",
            )
        if all(c.condition != rule_id for c in found):
            found.append(PatientCondition(rule_id, label))
    return tuple(found)


def conditions_from_screening(
    screening_id: int, result: dict[str, Any]
) -> tuple[PatientCondition, ...]:
    """The findings of a stored screening result as the patient's conditions.

    Every finding counts (a "not sure" one as possible): triage uses only the ones an
    escalation names.
    """
    conditions = []
    for finding in result.get("findings", []):
        rule = finding.get("rule")
        if isinstance(rule, str):
            certainty = "possible" if finding.get("certainty") == "possible" else "present"
            conditions.append(
                PatientCondition(rule, f"screening {screening_id}", certainty)  # type: ignore[arg-type]
            )
    return tuple(conditions)


def _merge_conditions(
    *known: tuple[PatientCondition, ...] | None,
) -> tuple[PatientCondition, ...] | None:
    """Every condition from every source; ``None`` only when no source knows anything."""
    if all(k is None for k in known):
        return None
    merged: dict[str, PatientCondition] = {}
    for conditions in known:
        for condition in conditions or ():
            seen = merged.get(condition.condition)
            if seen is None or (seen.certainty == "possible" and condition.certainty == "present"):
                merged[condition.condition] = condition
    return tuple(merged.values())


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


def triage_document(
    document: Any,
    kb: KnowledgeBase,
    conditions: tuple[PatientCondition, ...] | None = None,
) -> TriageResult:
    """Triage a check-in given as triage JSON or an aftercare QuestionnaireResponse.

    ``conditions`` are what the clinic knows of the patient (their latest screening, or
    the CLI's ``--condition``); they add to any the document gives.
    """
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
    report = replace(report, conditions=_merge_conditions(report.conditions, conditions))
    return triage(with_free_text(report, text, kb), kb)
