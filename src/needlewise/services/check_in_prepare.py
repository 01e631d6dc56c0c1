"""Fill in what a check-in leaves out before it is triaged: the hours since the session
it follows, and the patient's language (see :mod:`needlewise.services.check_ins`).

The triage JSON is filled in here; an aftercare QuestionnaireResponse is edited by
:mod:`needlewise.interop.fhir.aftercare_fill`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from needlewise.interop.fhir.aftercare_fill import filled_in, reported_time
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
    reported = reported_time(document)
    if reported is not None:
        return filled_in(document, language=language), reported.hours, "report"
    hours = hours_since(performed_at)
    if hours is None:
        return filled_in(document, language=language), None, None
    return filled_in(document, language=language, hours=hours), hours, "session"
