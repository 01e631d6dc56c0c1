"""QuestionnaireResponse: the intake answers a stored screening was made from, and the
aftercare answers of a check-in.

A screening stores the document it screened (``screenings.inputs``): a
QuestionnaireResponse, or a Bundle holding one (with Conditions, medications …). Its
QuestionnaireResponse is sent as it was answered, with our id, subject and date; a
screening made from a Bundle without one has no QuestionnaireResponse. A check-in stores
either an aftercare QuestionnaireResponse (sent the same way) or our triage JSON
(``symptoms``, ``temperature``, ``text``), which is written out as answers to the
aftercare Questionnaire: each reported symptom answered "yes" in its tier's group, the
temperature as a quantity, the free text as ``details``.
"""

from __future__ import annotations

from typing import Any

from needlewise.interop.fhir.canonical import (
    AFTERCARE_ID,
    DETAILS_ITEM,
    TEMPERATURE_ITEM,
    YES_NO_SYSTEM,
    questionnaire_url,
)
from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import UCUM, JsonObject, instant, meta, patient_ref
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import CheckIn, Screening

_KEPT = ("questionnaire", "status", "item", "language")


def intake_of(inputs: Any) -> JsonObject | None:
    """The QuestionnaireResponse inside a screening's stored document (``None``: none)."""
    if not isinstance(inputs, dict):
        return None
    if inputs.get("resourceType") == "QuestionnaireResponse":
        return inputs
    if inputs.get("resourceType") != "Bundle":
        return None
    for entry in inputs.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "QuestionnaireResponse":
            return resource
    return None


def _from_answered(answered: JsonObject, resource_id: str, row_patient: int) -> JsonObject:
    resource: JsonObject = {"resourceType": "QuestionnaireResponse", "id": resource_id}
    for key in _KEPT:
        if key in answered:
            resource[key] = answered[key]
    resource.setdefault("status", "completed")
    resource["subject"] = patient_ref(row_patient)
    return resource


def screening_response(row: Screening) -> JsonObject | None:
    """The intake answers of one stored screening (``None`` when it was not screened
    from a QuestionnaireResponse)."""
    answered = intake_of(row.inputs)
    if answered is None:
        return None
    resource = _from_answered(answered, ids.of(ids.SCREENING, row.id), row.patient_id)
    resource["meta"] = meta(row.created_at)
    resource["authored"] = instant(row.created_at)
    resource["author"] = _author(row.created_by, row.patient_id)
    return resource


def _author(created_by: str, patient_id: int) -> JsonObject:
    """The patient when they answered through their link; else the staff member who
    entered the answers (by reference display only: users are not FHIR resources here)."""
    if created_by.startswith("link:"):
        return patient_ref(patient_id)
    return {"display": f"clinic staff ({created_by})"}


def _symptom_groups(kb: KnowledgeBase, reported: list[str]) -> list[JsonObject]:
    by_tier: dict[str, list[JsonObject]] = {}
    for symptom_id in reported:
        symptom = kb.symptom(symptom_id)
        if symptom is None:
            continue  # not a symptom of this knowledge version: kept in the stored row only
        by_tier.setdefault(symptom.tier.value, []).append(
            {
                "linkId": symptom.id,
                "text": symptom.question.en,
                "answer": [{"valueCoding": {"system": YES_NO_SYSTEM, "code": "Y"}}],
            }
        )
    return [{"linkId": f"group.{tier}", "item": items} for tier, items in by_tier.items()]


def temperature_of(answers: Any) -> tuple[float, str] | None:
    """(value, UCUM unit) of the temperature a check-in reported, if any."""
    if not isinstance(answers, dict):
        return None
    if answers.get("resourceType") == "QuestionnaireResponse":
        for item in answers.get("item") or []:
            if isinstance(item, dict) and item.get("linkId") == TEMPERATURE_ITEM:
                for answer in item.get("answer") or []:
                    quantity = answer.get("valueQuantity") if isinstance(answer, dict) else None
                    if isinstance(quantity, dict):
                        return _measured(quantity.get("value"), quantity.get("code"))
        return None
    temperature = answers.get("temperature")
    if isinstance(temperature, dict):
        return _measured(temperature.get("value"), temperature.get("unit"))
    return None


def _measured(value: object, unit: object) -> tuple[float, str] | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and unit in ("Cel", "[degF]"):
        return float(value), str(unit)
    return None


def check_in_response(kb: KnowledgeBase, row: CheckIn) -> JsonObject:
    """The aftercare answers of one check-in."""
    resource_id = ids.of(ids.CHECK_IN, row.id)
    answers = row.answers
    if isinstance(answers, dict) and answers.get("resourceType") == "QuestionnaireResponse":
        resource = _from_answered(answers, resource_id, row.patient_id)
    else:
        resource = _from_triage_json(kb, answers, resource_id, row.patient_id)
    resource["meta"] = meta(row.created_at)
    resource["authored"] = instant(row.created_at)
    resource["author"] = _author(row.created_by, row.patient_id)
    if row.session_id is not None:
        resource["partOf"] = [{"reference": f"Procedure/{ids.of(ids.SESSION, row.session_id)}"}]
    return resource


def _from_triage_json(
    kb: KnowledgeBase, answers: Any, resource_id: str, patient_id: int
) -> JsonObject:
    document = answers if isinstance(answers, dict) else {}
    symptoms = document.get("symptoms")
    reported = [s for s in symptoms if isinstance(s, str)] if isinstance(symptoms, list) else []
    items = _symptom_groups(kb, reported)
    temperature = temperature_of(document)
    if temperature is not None:
        value, unit = temperature
        items.append(
            {
                "linkId": TEMPERATURE_ITEM,
                "answer": [
                    {
                        "valueQuantity": {
                            "value": value,
                            "unit": "°C" if unit == "Cel" else "°F",
                            "system": UCUM,
                            "code": unit,
                        }
                    }
                ],
            }
        )
    text = document.get("text")
    if isinstance(text, str) and text.strip():
        items.append({"linkId": DETAILS_ITEM, "answer": [{"valueString": text}]})
    resource: JsonObject = {
        "resourceType": "QuestionnaireResponse",
        "id": resource_id,
        "questionnaire": f"{questionnaire_url(kb, AFTERCARE_ID)}|{kb.version}",
        "status": "completed",
        "subject": patient_ref(patient_id),
    }
    language = document.get("language")
    if isinstance(language, str):
        resource["language"] = language
    if items:
        resource["item"] = items
    return resource
