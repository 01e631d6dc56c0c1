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
#: the optional 0-10 pain score of a check-in (NPRS; stored as an outcome score)
PAIN_ITEM = "pain"

#: answer codes for "when was your treatment" -> (low, high, low excluded), in hours.
#: The choices are counted in hours, not calendar days, so that none straddles a time
#: window of the knowledge base (all at 72 h today; a test checks every window):
#: "2 or 3 days ago" would be 24-96 h and read both ways.
TIME_WINDOWS: dict[str, tuple[float, float, bool]] = {
    "under-24-hours": (0.0, 24.0, False),
    "24-to-72-hours": (24.0, 72.0, False),
    "over-72-hours": (72.0, float("inf"), True),
}


def questionnaire_url(kb: KnowledgeBase, questionnaire_id: str) -> str:
    return f"{kb.data.meta.canonical_base}/Questionnaire/{questionnaire_id}"


def code_system_url(kb: KnowledgeBase, name: str) -> str:
    return f"{kb.data.meta.canonical_base}/CodeSystem/{name}"


def matches_questionnaire(reference: str, kb: KnowledgeBase, questionnaire_id: str) -> bool:
    """True for ``url`` or ``url|version`` of our Questionnaire (any version)."""
    return reference.split("|", 1)[0] == questionnaire_url(kb, questionnaire_id)
