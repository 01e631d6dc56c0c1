"""Filling in an aftercare QuestionnaireResponse before it is triaged.

A check-in may follow a known treatment session, and a patient link knows the patient's
language; the response the patient sent may leave both out. These functions read what
the patient answered to ``time-since-treatment`` and return a copy of the response with
the language and the hours filled in (the stored answers stay what was sent). Pure JSON
editing: no database, no knowledge base. What the answers mean is read by
:mod:`needlewise.interop.fhir.aftercare`; the shape a stored response may have is
checked by :mod:`needlewise.interop.fhir.aftercare_shape`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from needlewise.interop.fhir.access import JsonObject
from needlewise.interop.fhir.canonical import TIME_ITEM
from needlewise.interop.fhir.intake import walk_items


@dataclass(frozen=True)
class ReportedTime:
    """The patient's answer to ``time-since-treatment``: ``hours`` when it is a number
    (``valueDecimal`` / ``valueInteger``), ``None`` for a window (``valueCoding``)."""

    hours: float | int | None


def reported_time(response: JsonObject) -> ReportedTime | None:
    """What the response answers to ``time-since-treatment`` (the first answered such
    item), or ``None`` when it does not answer it."""
    for item, _ in walk_items(response, "$"):
        if item.get("linkId") != TIME_ITEM or not item.get("answer"):
            continue
        answers = item["answer"]
        first = answers[0] if isinstance(answers, list) and isinstance(answers[0], dict) else {}
        exact = first.get("valueDecimal", first.get("valueInteger"))
        return ReportedTime(exact if isinstance(exact, float | int) else None)
    return None


def filled_in(
    response: JsonObject, *, language: str | None = None, hours: float | None = None
) -> dict[str, Any]:
    """A copy of ``response`` with ``language`` set when it names none, and with
    ``hours`` (when given) as the ``valueDecimal`` answer of the first
    ``time-since-treatment`` item (an item is added at the end when there is none).
    ``response`` itself is never changed."""
    filled = copy.deepcopy(response)
    if language is not None and "language" not in filled:
        filled["language"] = language
    if hours is None:
        return filled
    answer = [{"valueDecimal": hours}]
    time_items = [item for item, _ in walk_items(filled, "$") if item.get("linkId") == TIME_ITEM]
    if time_items:
        time_items[0]["answer"] = answer
    else:
        filled.setdefault("item", []).append({"linkId": TIME_ITEM, "answer": answer})
    return filled
