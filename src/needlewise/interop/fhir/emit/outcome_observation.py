"""Observation: one recorded outcome score (``outcome_scores``: PSFS, NDI, ODI, NPRS).

``code`` carries the LOINC code the knowledge base holds for the measure, only when it
holds one (today only the NPRS, ``72514-3``, marked unverified there; LOINC codes for
the NDI, ODI and PSFS were not searched, so they have none), and our measure code
always. The score is ``valueQuantity`` (UCUM ``{score}``; ODI ``%``; NPRS a whole
number, ``valueInteger``). Each item is a ``component`` under our code
``<measure>.<section>`` (NDI/ODI, by our own section names: never the instrument's
text) or with the patient's words as ``code.text`` (a PSFS activity); a skipped ODI
section has ``dataAbsentReason`` ``asked-declined``. ``partOf`` names the session's
Procedure, ``derivedFrom`` the check-in's QuestionnaireResponse.
"""

from __future__ import annotations

from typing import Any

from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import (
    UCUM,
    JsonObject,
    coding,
    instant,
    meta,
    our_system,
    patient_ref,
)
from needlewise.interop.fhir.emit.observation import SURVEY
from needlewise.interop.fhir.emit.procedure import procedure_id
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Measure
from needlewise.persistence.models import OutcomeScore

ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def _quantity(value: float, percent: bool) -> JsonObject:
    if percent:
        return {"value": value, "unit": "%", "system": UCUM, "code": "%"}
    return {"value": value, "unit": "score", "system": UCUM, "code": "{score}"}


def _code(kb: KnowledgeBase, measure: Measure | None, measure_id: str) -> JsonObject:
    codings = []
    if measure is not None and measure.loinc is not None:
        loinc = measure.loinc
        codings.append(coding(loinc.system, loinc.code, loinc.display))
    title = measure.title.en if measure is not None else measure_id
    codings.append(coding(our_system(kb, "measure"), measure_id, title))
    name = measure.abbreviation if measure is not None else measure_id
    return {"coding": codings, "text": f"{name} ({title})"}


def _components(kb: KnowledgeBase, measure: Measure | None, row: OutcomeScore) -> list[JsonObject]:
    stored: dict[str, Any] = row.items or {}
    sections = (
        {s.key: s.title.en for s in measure.method.sections} if measure and measure.method else {}
    )
    found: list[JsonObject] = []
    items = stored.get("items", [])
    if row.measure == "measure.nprs" or not isinstance(items, list):
        return found
    for item in items:
        if not isinstance(item, dict):
            continue
        key, name, score = item.get("key"), item.get("name"), item.get("score")
        if isinstance(key, str):
            code: JsonObject = {
                "coding": [
                    coding(
                        our_system(kb, "measure"), f"{row.measure}.{key}", sections.get(key, key)
                    )
                ]
            }
        else:
            code = {"text": str(name or "")}
        component: JsonObject = {"code": code}
        if isinstance(score, int):
            component["valueInteger"] = score
        else:
            component["dataAbsentReason"] = {
                "coding": [coding(ABSENT, "asked-declined", "Asked But Declined")]
            }
        found.append(component)
    percent = stored.get("percent")
    if isinstance(percent, int | float):
        found.append(
            {
                "code": {
                    "coding": [
                        coding(
                            our_system(kb, "measure"),
                            f"{row.measure}.percent",
                            "Score as a percent",
                        )
                    ]
                },
                "valueQuantity": _quantity(float(percent), True),
            }
        )
    return found


def outcome_observation(kb: KnowledgeBase, row: OutcomeScore) -> JsonObject:
    """The Observation of one stored outcome score."""
    measure = kb.measure(row.measure)
    resource: JsonObject = {
        "resourceType": "Observation",
        "id": ids.of(ids.OUTCOME, row.id),
        "meta": meta(row.created_at),
        "status": "final",
        "category": SURVEY,
        "code": _code(kb, measure, row.measure),
        "subject": patient_ref(row.patient_id),
        "effectiveDateTime": instant(row.recorded_at),
    }
    if row.measure == "measure.nprs":
        resource["valueInteger"] = int(row.score)
    else:
        method = measure.method if measure is not None else None
        percent = method is not None and method.kind == "percent-of-answered"
        resource["valueQuantity"] = _quantity(row.score, percent)
    components = _components(kb, measure, row)
    if components:
        resource["component"] = components
    if row.session_id is not None:
        resource["partOf"] = [{"reference": f"Procedure/{procedure_id(row.session_id)}"}]
    if row.check_in_id is not None:
        resource["derivedFrom"] = [
            {"reference": f"QuestionnaireResponse/{ids.of(ids.CHECK_IN, row.check_in_id)}"}
        ]
    return resource
