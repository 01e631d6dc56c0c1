"""Observation: pain before and after needling (NPRS, from the session) and temperatures
the patient reported in a check-in.

Pain scores carry the LOINC code the knowledge base holds for the NPRS
(``measures.yaml``: ``measure.nprs``), only when it holds one, next to our measure code;
category ``survey``. The knowledge base holds no LOINC code for body temperature, so a
reported temperature is ``code.text`` only, and (not being coded as a vital sign, which
FHIR's vital-signs profile requires) is categorised ``survey``: it is what the patient
told us, in the unit they gave (UCUM ``Cel`` or ``[degF]``).
"""

from __future__ import annotations

from datetime import datetime

from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import (
    OBSERVATION_CATEGORY,
    UCUM,
    JsonObject,
    coding,
    instant,
    meta,
    our_system,
    patient_ref,
)
from needlewise.interop.fhir.emit.procedure import procedure_id
from needlewise.interop.fhir.emit.questionnaire_response import temperature_of
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Measure
from needlewise.persistence.models import CheckIn, TreatmentSession

NPRS = "measure.nprs"
#: the category of every questionnaire-based Observation we emit (pain scores, outcomes)
SURVEY = [{"coding": [coding(OBSERVATION_CATEGORY, "survey", "Survey")]}]


def _nprs_code(kb: KnowledgeBase, when: str) -> JsonObject:
    codings = []
    measure = kb.get(NPRS)
    if isinstance(measure, Measure) and measure.loinc is not None:
        codings.append(coding(measure.loinc.system, measure.loinc.code, measure.loinc.display))
    codings.append(coding(our_system(kb, "measure"), NPRS, "Numeric Pain Rating Scale"))
    return {"coding": codings, "text": f"Pain {when} needling (NPRS 0-10)"}


def _pain(
    kb: KnowledgeBase, row: TreatmentSession, when: str, score: int, updated: datetime
) -> JsonObject:
    return {
        "resourceType": "Observation",
        "id": ids.of(ids.SESSION, row.id, "nprs", when),
        "meta": meta(updated),
        "status": "final",
        "category": SURVEY,
        "code": _nprs_code(kb, when),
        "subject": patient_ref(row.patient_id),
        "effectiveDateTime": instant(row.performed_at),
        "valueInteger": score,
        "partOf": [{"reference": f"Procedure/{procedure_id(row.id)}"}],
    }


def session_observations(kb: KnowledgeBase, row: TreatmentSession) -> list[JsonObject]:
    """The pain scores of one session (none, one or two)."""
    found = []
    if row.pain_before is not None:
        found.append(_pain(kb, row, "before", row.pain_before, row.updated_at))
    if row.pain_after is not None:
        found.append(_pain(kb, row, "after", row.pain_after, row.updated_at))
    return found


def check_in_observations(row: CheckIn) -> list[JsonObject]:
    """The temperature one check-in reported (none or one)."""
    measured = temperature_of(row.answers)
    if measured is None:
        return []
    value, unit = measured
    resource: JsonObject = {
        "resourceType": "Observation",
        "id": ids.of(ids.CHECK_IN, row.id, "temperature"),
        "meta": meta(row.created_at),
        "status": "final",
        "category": SURVEY,
        "code": {"text": "Body temperature (reported by the patient)"},
        "subject": patient_ref(row.patient_id),
        "effectiveDateTime": instant(row.created_at),
        "valueQuantity": {
            "value": value,
            "unit": "°C" if unit == "Cel" else "°F",
            "system": UCUM,
            "code": unit,
        },
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{ids.of(ids.CHECK_IN, row.id)}"}],
    }
    return [resource]
