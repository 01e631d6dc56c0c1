"""What a check-in may be before it is triaged and stored, and when two say the same.

:func:`check_submission` holds a check-in to what the clinic needs: an aftercare
QuestionnaireResponse to the items of the aftercare Questionnaire
(:mod:`needlewise.interop.fhir.aftercare_shape`), the triage JSON to its fields (unknown
fields are already refused by :class:`~needlewise.services.triage.TriageRequest`) with no
id listed twice. :func:`answers_digest` is the fingerprint that finds an identical repeat
(:mod:`needlewise.services.check_in_flood`): what was answered, not when or how it was
wrapped (a QuestionnaireResponse's ``id``, ``authored`` or item order do not count).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from needlewise.errors import InputError
from needlewise.interop.fhir.aftercare_shape import check_aftercare_shape
from needlewise.interop.fhir.intake import walk_items
from needlewise.knowledge.base import KnowledgeBase

_LISTS = ("symptoms", "treated_regions", "conditions")


def check_submission(document: Any, kb: KnowledgeBase) -> None:
    """Refuse (``InputError`` with the JSON path) what a stored check-in may not hold."""
    if not isinstance(document, dict):
        return  # triage explains what is wrong
    if "resourceType" in document:
        if document["resourceType"] == "QuestionnaireResponse":
            check_aftercare_shape(document, kb)
        return
    for key in _LISTS:
        values = document.get(key)
        if not isinstance(values, list):
            continue
        seen: set[str] = set()
        for i, value in enumerate(values):
            if isinstance(value, str):
                if value in seen:
                    raise InputError(f"{value[:60]!r} is listed twice", f"$.{key}[{i}]")
                seen.add(value)


def answers_digest(document: Any) -> str:
    """sha256 of the answers of a check-in (call after it was triaged: well-formed)."""
    if isinstance(document, dict) and document.get("resourceType") == "QuestionnaireResponse":
        parts = sorted(
            orjson.dumps([item.get("linkId"), item.get("answer")], option=orjson.OPT_SORT_KEYS)
            for item, _ in walk_items(document, "$")
        )
        material = b"\n".join(parts)
    elif isinstance(document, dict):
        material = orjson.dumps(
            {
                key: sorted(map(str, value)) if key in _LISTS and isinstance(value, list) else value
                for key, value in document.items()
                if key != "language"
            },
            option=orjson.OPT_SORT_KEYS,
        )
    else:
        material = orjson.dumps(document)
    return hashlib.sha256(material).hexdigest()
