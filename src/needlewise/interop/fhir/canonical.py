"""Canonical URLs and code systems needlewise publishes.

They are built from the knowledge base's ``canonical_base`` (meta.yaml), an identifier
namespace rather than an address that must resolve.
"""

from __future__ import annotations

from needlewise.knowledge.base import KnowledgeBase

INTAKE_ID = "needlewise-intake"
AFTERCARE_ID = "needlewise-aftercare"

YES_NO_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0136"
NULL_FLAVOR_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
UCUM = "http://unitsofmeasure.org"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
UNIT_OPTION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"

#: aftercare item linkIds that are not symptom ids
TEMPERATURE_ITEM = "temperature"
TIME_ITEM = "time-since-treatment"
REGIONS_ITEM = "treated-regions"
DETAILS_ITEM = "details"

#: answer codes for "when was your treatment" -> conservative interval of hours
TIME_WINDOWS: dict[str, tuple[float, float]] = {
    "today": (0.0, 24.0),
    "yesterday": (12.0, 48.0),
    "2-3-days": (24.0, 96.0),
    "more-than-3-days": (72.0, float("inf")),
}


def questionnaire_url(kb: KnowledgeBase, questionnaire_id: str) -> str:
    return f"{kb.data.meta.canonical_base}/Questionnaire/{questionnaire_id}"


def code_system_url(kb: KnowledgeBase, name: str) -> str:
    return f"{kb.data.meta.canonical_base}/CodeSystem/{name}"


def matches_questionnaire(reference: str, kb: KnowledgeBase, questionnaire_id: str) -> bool:
    """True for ``url`` or ``url|version`` of our Questionnaire (any version)."""
    return reference.split("|", 1)[0] == questionnaire_url(kb, questionnaire_id)
