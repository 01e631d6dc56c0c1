"""Fill in what a check-in leaves out before it is triaged: the hours since the session
it follows, and the patient's language (see :mod:`needlewise.services.check_ins`)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from needlewise.interop.fhir.canonical import TIME_ITEM
from needlewise.interop.fhir.intake import walk_items
from needlewise.persistence.db import utcnow

MAX_HOURS = 24 * 365  # what the triage JSON accepts


def hours_since(performed_at: datetime | None) -> float | None:
    """Hours since ``performed_at`` (``None`` when unknown or implausible)."""
    if performed_at is None:
        return None
    hours = round((utcnow() - performed_at).total_seconds() / 3600, 1)
    return hours if 0 <= hours <= MAX_HOURS else None


def prepare(
    document: Any, performed_at: datetime | None, language: str | None
) -> tuple[Any, float | None, str | None]:
    """(document to triage, exact hours used, where they came from); never changes
    ``document`` itself."""
    if not isinstance(document, dict):
        return document, None, None  # triage_document explains what is wrong
    if "resourceType" in document:
        return _prepare_response(document, performed_at, language)
    given = document.get("hours_since_treatment")
    filled: dict[str, Any] = dict(document)
    if language is not None and "language" not in document:
        filled["language"] = language
    if given is not None:
        return filled, given if isinstance(given, float | int) else None, "report"
    hours = hours_since(performed_at)
    if hours is None:
        return filled, None, None
    filled["hours_since_treatment"] = float(hours)
    return filled, hours, "session"


def _prepare_response(
    document: dict[str, Any], performed_at: datetime | None, language: str | None
) -> tuple[Any, float | None, str | None]:
    if document.get("resourceType") != "QuestionnaireResponse":
        return document, None, None
    filled = copy.deepcopy(document)
    if language is not None and "language" not in filled:
        filled["language"] = language
    time_items = [item for item, _ in walk_items(filled, "$") if item.get("linkId") == TIME_ITEM]
    answered = [item for item in time_items if item.get("answer")]
    if answered:
        answers = answered[0]["answer"]
        first = answers[0] if isinstance(answers, list) and isinstance(answers[0], dict) else {}
        exact = first.get("valueDecimal", first.get("valueInteger"))
        return filled, exact if isinstance(exact, float | int) else None, "report"
    hours = hours_since(performed_at)
    if hours is None:
        return filled, None, None
    answer = [{"valueDecimal": hours}]
    if time_items:
        time_items[0]["answer"] = answer
    else:
        filled.setdefault("item", []).append({"linkId": TIME_ITEM, "answer": answer})
    return filled, hours, "session"
