"""Aftercare QuestionnaireResponse -> :class:`~needlewise.domain.facts.SymptomReport`.

Items (linkIds):

* each symptom id (``symptom.chest-pain`` …): Y = present, N = absent, UNK = not sure
  (counted as present); an **emergency** item left blank is listed in
  ``unanswered_red_flags``;
* ``temperature``: ``valueQuantity`` with UCUM code ``Cel`` or ``[degF]``;
* ``time-since-treatment``: a ``valueCoding`` (under-24-hours / 24-to-72-hours /
  over-72-hours) or a number of hours (``valueDecimal``/``valueInteger``);
* ``treated-regions``: one ``valueCoding`` per region (code = region id);
* ``details``: free text (``valueString``), read by the free-text matcher.
"""

from __future__ import annotations

from dataclasses import dataclass

from needlewise.domain.facts import (
    PLAUSIBLE_TEMPERATURE,
    HoursWindow,
    ReportedSymptom,
    Temperature,
)
from needlewise.errors import InputError
from needlewise.interop.fhir.access import JsonObject, child, expect_object, opt_list, opt_str
from needlewise.interop.fhir.canonical import (
    AFTERCARE_ID,
    DETAILS_ITEM,
    REGIONS_ITEM,
    TEMPERATURE_ITEM,
    TIME_ITEM,
    TIME_WINDOWS,
    matches_questionnaire,
    questionnaire_url,
)
from needlewise.interop.fhir.intake import single_answer, walk_items, yes_no_unsure
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier

TEMPERATURE_UNITS = ("Cel", "[degF]")


@dataclass
class AftercareInput:
    """What an aftercare response says, before free text is read."""

    symptoms: list[ReportedSymptom]
    temperature: Temperature | None
    hours: HoursWindow | None
    regions: tuple[str, ...] | None
    text: str | None
    language: str | None
    unanswered_red_flags: tuple[str, ...]


def check_temperature(value: object, unit: object, where: str) -> Temperature:
    """Validate a temperature value and UCUM unit (shared by every door)."""
    if unit not in TEMPERATURE_UNITS:
        raise InputError(
            f"temperature unit {unit!r} is not supported; use 'Cel' (°C) or '[degF]' (°F)", where
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("temperature value must be a number", where)
    low, high = PLAUSIBLE_TEMPERATURE[str(unit)]
    if not low <= float(value) <= high:
        shown = "°C" if unit == "Cel" else "°F"
        raise InputError(
            f"temperature {value} {shown} is outside the plausible range {low:g}-{high:g} {shown}; "
            "check the number and the unit",
            where,
        )
    return Temperature(float(value), unit, where)  # type: ignore[arg-type]


def read_aftercare_response(response: JsonObject, kb: KnowledgeBase) -> AftercareInput:
    """Read an aftercare QuestionnaireResponse (already checked to be one)."""
    reference = opt_str(response, "questionnaire", "$")
    if reference is not None and not matches_questionnaire(reference, kb, AFTERCARE_ID):
        raise InputError(
            f"this QuestionnaireResponse answers {reference!r}; triage reads answers to "
            f"{questionnaire_url(kb, AFTERCARE_ID)}",
            "$.questionnaire",
        )
    if opt_str(response, "status", "$") == "entered-in-error":
        raise InputError("the QuestionnaireResponse is marked entered-in-error", "$.status")
    rid = opt_str(response, "id", "$") or "(no id)"
    symptom_ids = {s.id for s in kb.symptoms}
    seen: set[str] = set()
    symptoms: list[ReportedSymptom] = []
    temperature: Temperature | None = None
    hours: HoursWindow | None = None
    regions: list[str] | None = None
    text: str | None = None

    for item, where in walk_items(response, "$"):
        link_id = opt_str(item, "linkId", where)
        if link_id is None:
            raise InputError("item without a linkId", where)
        if link_id in seen and link_id != REGIONS_ITEM:
            raise InputError(f"item {link_id} appears twice", where)
        seen.add(link_id)
        label = f"QuestionnaireResponse/{rid} item {link_id}"
        if link_id in symptom_ids:
            answer = single_answer(item, where, link_id)
            if answer is None:
                seen.discard(link_id)
                continue
            value = yes_no_unsure(answer, where, link_id)
            if value != "no":
                unsure = value == "unsure"
                shown = "not sure" if unsure else "yes"
                symptoms.append(
                    ReportedSymptom(
                        link_id, f"{label} = {shown}", "possible" if unsure else "present"
                    )
                )
        elif link_id == TEMPERATURE_ITEM:
            answer = single_answer(item, where, link_id)
            if answer is not None:
                path = child(child(where, "answer"), 0)
                quantity = expect_object(
                    answer.get("valueQuantity"), child(path, "valueQuantity"), "a valueQuantity"
                )
                unit = quantity.get("code") or quantity.get("unit")
                temperature = check_temperature(
                    quantity.get("value"), unit, child(path, "valueQuantity")
                )
                temperature = Temperature(temperature.value, temperature.unit, label)
        elif link_id == TIME_ITEM:
            answer = single_answer(item, where, link_id)
            if answer is not None:
                hours = _hours(answer, child(child(where, "answer"), 0))
        elif link_id == REGIONS_ITEM:
            regions = regions or []
            for j, raw in enumerate(opt_list(item, "answer", where)):
                path = child(child(where, "answer"), j)
                coding = expect_object(
                    expect_object(raw, path).get("valueCoding"),
                    child(path, "valueCoding"),
                    "a valueCoding",
                )
                code = opt_str(coding, "code", child(path, "valueCoding")) or ""
                region = code if code.startswith("region.") else f"region.{code}"
                if kb.region(region) is None:
                    raise InputError(f"unknown treated region {code!r}", child(path, "valueCoding"))
                regions.append(region)
        elif link_id == DETAILS_ITEM:
            answer = single_answer(item, where, link_id)
            if answer is not None:
                text = opt_str(answer, "valueString", child(child(where, "answer"), 0))

    red_flags = tuple(s.id for s in kb.symptoms if s.tier is Tier.emergency and s.id not in seen)
    language = opt_str(response, "language", "$")
    return AftercareInput(
        symptoms=symptoms,
        temperature=temperature,
        hours=hours,
        regions=tuple(regions) if regions is not None else None,
        text=text,
        language=language.split("-")[0].lower() if language else None,
        unanswered_red_flags=red_flags,
    )


def _hours(answer: JsonObject, path: str) -> HoursWindow:
    for key in ("valueDecimal", "valueInteger"):
        value = answer.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise InputError(
                    "hours since treatment must be a number of 0 or more", child(path, key)
                )
            return HoursWindow.exactly(float(value))
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = coding.get("code")
        if type(code) is str and code in TIME_WINDOWS:
            low, high, low_open = TIME_WINDOWS[code]
            return HoursWindow(low, high, low_open)
        raise InputError(
            f"time code {code!r} is not one of {', '.join(TIME_WINDOWS)}",
            child(path, "valueCoding"),
        )
    raise InputError("time since treatment must be a valueCoding or a number of hours", path)
