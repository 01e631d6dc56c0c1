"""What a stored check-in may hold: only the answers the aftercare Questionnaire defines.

A check-in is stored as it was sent, so before it is stored (``POST …/check-ins`` and
the patient's ``POST /api/p/{token}/check-in``) an aftercare QuestionnaireResponse is held
to the Questionnaire (:func:`~needlewise.interop.fhir.questionnaire.aftercare_questionnaire`):

* top level: ``resourceType``, ``id``, ``questionnaire``, ``status``, ``language``,
  ``authored`` and the references ``subject``, ``author``, ``source``, ``encounter``
  (``reference``, ``display``, ``type`` only), and ``item``;
* items: ``linkId``, ``text``, ``answer``, ``item``; linkIds are the Questionnaire's
  (the three ``group.<tier>`` groups, each symptom id, ``temperature``,
  ``time-since-treatment``, ``treated-regions``, ``details``, ``pain``), groups hold questions and
  no answers, questions hold no items (two levels at most);
* answers: one ``value[x]`` of the item's type and nothing else (a symptom:
  ``valueBoolean`` or ``valueCoding``; temperature: ``valueQuantity``; time since
  treatment: ``valueCoding``, ``valueDecimal`` or ``valueInteger``; regions: one
  ``valueCoding`` per region; details: ``valueString``; pain: ``valueInteger``), one answer per question except
  regions (at most one per region);
* sizes: ``details`` up to :data:`MAX_DETAILS` characters, item text up to
  :data:`MAX_ITEM_TEXT`, every other string up to :data:`MAX_STRING`.

Anything else is an :class:`~needlewise.errors.InputError` naming its JSON path, so a
leaked link cannot store megabytes of unknown fields. What the answers *mean* (codes,
units, ranges) is checked by :mod:`needlewise.interop.fhir.aftercare` when triaged.
"""

from __future__ import annotations

from typing import Any

from needlewise.errors import InputError
from needlewise.interop.fhir.canonical import (
    DETAILS_ITEM,
    PAIN_ITEM,
    REGIONS_ITEM,
    TEMPERATURE_ITEM,
    TIME_ITEM,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier

MAX_DETAILS = 5000  # the same as the triage JSON's ``text``
MAX_ITEM_TEXT = 1000
MAX_STRING = 256

_TOP = frozenset({"resourceType", "id", "questionnaire", "status", "language", "authored"})
_REFERENCES = frozenset({"subject", "author", "source", "encounter"})
_REFERENCE_KEYS = frozenset({"reference", "display", "type"})
_ITEM_KEYS = frozenset({"linkId", "text", "answer", "item"})
_CODING_KEYS = frozenset({"system", "code", "display"})
_QUANTITY_KEYS = frozenset({"value", "unit", "system", "code"})
_SYMPTOM_VALUES = frozenset({"valueBoolean", "valueCoding"})
_VALUES: dict[str, frozenset[str]] = {
    TEMPERATURE_ITEM: frozenset({"valueQuantity"}),
    TIME_ITEM: frozenset({"valueCoding", "valueDecimal", "valueInteger"}),
    REGIONS_ITEM: frozenset({"valueCoding"}),
    DETAILS_ITEM: frozenset({"valueString"}),
    PAIN_ITEM: frozenset({"valueInteger"}),
}
_UNKNOWN = "unknown field: a check-in keeps only what the aftercare Questionnaire asks"


def check_aftercare_shape(response: dict[str, Any], kb: KnowledgeBase) -> None:
    """Refuse anything in ``response`` the aftercare Questionnaire does not define."""
    groups = {f"group.{tier.value}" for tier in Tier}
    questions = {s.id for s in kb.symptoms} | set(_VALUES)
    for key, value in response.items():
        where = f"$.{key}"
        if key in _TOP:
            _string(value, where, MAX_STRING)
        elif key in _REFERENCES:
            _object(value, where, _REFERENCE_KEYS)
            for field, text in value.items():
                _string(text, f"{where}.{field}", MAX_STRING)
        elif key != "item":
            raise InputError(_UNKNOWN, where)
    regions = len(kb.data.regions)
    for item, where, nested in _items(response, "$", groups | questions):
        link_id = item["linkId"]
        if link_id in groups:
            if nested:
                raise InputError(f"group {link_id} cannot be inside another item", where)
            if "answer" in item:
                raise InputError(f"group {link_id} has questions, not answers", f"{where}.answer")
            continue
        if "item" in item:
            raise InputError(f"question {link_id} holds no items", f"{where}.item")
        allowed = _VALUES.get(link_id, _SYMPTOM_VALUES)
        _answers(item, where, link_id, allowed, regions if link_id == REGIONS_ITEM else 1)


def _items(
    container: dict[str, Any], path: str, link_ids: set[str]
) -> list[tuple[dict[str, Any], str, bool]]:
    """Every item at the top level and one level down, checked for known keys and linkIds,
    as (item, path, nested?)."""
    found: list[tuple[dict[str, Any], str, bool]] = []
    pending = [(container, path, False)]
    while pending:
        parent, where, nested = pending.pop()
        if "item" not in parent:
            continue
        items = parent["item"]
        if not isinstance(items, list):
            raise InputError("must be a list of items", f"{where}.item")
        if len(items) > len(link_ids):
            raise InputError(
                f"more items ({len(items)}) than the Questionnaire has", f"{where}.item"
            )
        for i, item in enumerate(items):
            at = f"{where}.item[{i}]"
            _object(item, at, _ITEM_KEYS)
            link_id = item.get("linkId")
            if not isinstance(link_id, str):
                raise InputError("every item needs its linkId (a string)", f"{at}.linkId")
            if link_id not in link_ids:
                raise InputError(
                    f"the aftercare Questionnaire has no item {link_id[:MAX_STRING]!r}",
                    f"{at}.linkId",
                )
            if "text" in item:
                _string(item["text"], f"{at}.text", MAX_ITEM_TEXT)
            found.append((item, at, nested))
            if "item" in item and not nested:
                pending.append((item, at, True))
    return found


def _answers(
    item: dict[str, Any], where: str, link_id: str, allowed: frozenset[str], most: int
) -> None:
    if "answer" not in item:
        return
    answers = item["answer"]
    if not isinstance(answers, list):
        raise InputError("must be a list of answers", f"{where}.answer")
    if len(answers) > most:
        raise InputError(
            f"item {link_id} takes at most {most} answer{'s' if most > 1 else ''}",
            f"{where}.answer",
        )
    for j, answer in enumerate(answers):
        at = f"{where}.answer[{j}]"
        if not isinstance(answer, dict):
            raise InputError("must be a JSON object", at)
        for key in answer:
            if key not in allowed:
                raise InputError(
                    f"item {link_id} is answered with {' or '.join(sorted(allowed))} only",
                    f"{at}.{key}",
                )
        if len(answer) != 1:
            raise InputError(f"an answer holds one of {', '.join(sorted(allowed))}", at)
        ((kind, value),) = answer.items()
        if kind == "valueCoding":
            _object(value, f"{at}.valueCoding", _CODING_KEYS)
            for field, text in value.items():
                _string(text, f"{at}.valueCoding.{field}", MAX_STRING)
        elif kind == "valueQuantity":
            _object(value, f"{at}.valueQuantity", _QUANTITY_KEYS)
            for field in ("unit", "system", "code"):
                if field in value:
                    _string(value[field], f"{at}.valueQuantity.{field}", MAX_STRING)
        elif kind == "valueString":
            _string(value, f"{at}.valueString", MAX_DETAILS)


def _object(value: Any, where: str, keys: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise InputError("must be a JSON object", where)
    for key in value:
        if key not in keys:
            raise InputError(_UNKNOWN, f"{where}.{key}")


def _string(value: Any, where: str, longest: int) -> None:
    if not isinstance(value, str):
        raise InputError("must be a string", where)
    if len(value) > longest:
        raise InputError(f"longer than {longest} characters", where)
