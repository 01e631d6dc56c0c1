"""Validate a FHIR resource against its ``fhir.resources`` R4B model, at the edge.

``fhir.resources`` is slow to import (and to validate: about 20x slower than reading
the same JSON with orjson; stack-notes.md), so it is imported on first use and only
where a resource is taken in to be stored. Its pydantic errors become our problems:
each names the JSON path of the field (``$.entry[3].resource.onsetDateTime``) and what
is wrong with it in words of our own, never the value sent (pydantic's messages may
quote it). The models check structure, types and formats; they do not check code
bindings (``gender: "xyz"`` passes), which the readers check where it matters.
"""

from __future__ import annotations

from typing import Any

#: pydantic error type -> our words (the value is never quoted)
_WORDS = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (not part of this FHIR R4 resource)",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "float_type": "expected a number",
    "decimal_type": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "json_invalid": "expected an object",
    "json_type": "expected an object",
    "string_pattern_mismatch": "not in the form FHIR requires for this field",
    "string_too_short": "must not be empty",
    "literal_error": "not one of the values FHIR allows here",
    "enum": "not one of the values FHIR allows here",
    "model_validation_format": "expected an object",
}


def _words(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind in _WORDS:
        return _WORDS[kind]
    message = str(error.get("msg", "")).lower()
    if "date" in message or "time" in message or "instant" in message:
        return "not a valid FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or with a time)"
    if "resource type" in message or "resourcetype" in message:
        return "wrong resourceType for this place"
    return "not a valid value for this field"


def _path(base: str, loc: tuple[Any, ...]) -> str:
    path = base
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "root":
            continue  # a pydantic RootModel's step: no JSON key
        elif isinstance(part, str) and part and all(c.isalnum() or c == "_" for c in part):
            path += f".{part.removesuffix('__ext')}"
        # pydantic's own steps (function-after[...], union tags) are no JSON keys
    return path


def validation_problems(
    resource: dict[str, Any], resource_type: str, path: str
) -> list[tuple[str, str]]:
    """(JSON path, problem) for every way ``resource`` is not a valid R4 ``resource_type``
    (an empty list when it is valid). ``path`` is where the resource sits."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    model = get_fhir_model_class(resource_type)
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        found: list[tuple[str, str]] = []
        for error in exc.errors(include_input=False, include_url=False):
            item = (_path(path, tuple(error.get("loc", ()))), _words(dict(error)))
            if item not in found:
                found.append(item)
        return found
    except (TypeError, ValueError):  # a model that refuses the dict itself
        return [(path, f"not a valid FHIR R4 {resource_type}")]
    return []
