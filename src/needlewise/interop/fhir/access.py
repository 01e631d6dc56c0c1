"""Path-aware access to raw FHIR JSON, so every problem names where it is.

Bulk paths read FHIR as plain dicts (parsing with fhir.resources is ~20x slower than
orjson; stack-notes.md); these helpers check the types the readers rely on and raise
:class:`~needlewise.errors.InputError` with a JSON path such as
``$.entry[3].resource.clinicalStatus``.
"""

from __future__ import annotations

from typing import Any

from needlewise.errors import InputError

JsonObject = dict[str, Any]


def child(path: str, key: str | int) -> str:
    """``$.entry`` + ``3`` -> ``$.entry[3]``; ``$`` + ``code`` -> ``$.code``."""
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def expect_object(value: Any, path: str, what: str = "an object") -> JsonObject:
    if not isinstance(value, dict):
        raise InputError(f"expected {what}, found {_kind(value)}", path)
    return value


def opt_object(parent: JsonObject, key: str, path: str) -> JsonObject | None:
    value = parent.get(key)
    return None if value is None else expect_object(value, child(path, key))


def opt_list(parent: JsonObject, key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"expected a list, found {_kind(value)}", child(path, key))
    return value


def opt_str(parent: JsonObject, key: str, path: str) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"expected a string, found {_kind(value)}", child(path, key))
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def codings(concept: JsonObject | None, path: str) -> list[tuple[str, str, str | None]]:
    """``(system, code, display)`` of a CodeableConcept's codings that have system and code."""
    if concept is None:
        return []
    found = []
    for i, raw in enumerate(opt_list(concept, "coding", path)):
        where = child(child(path, "coding"), i)
        coding = expect_object(raw, where, "a Coding object")
        system, code = opt_str(coding, "system", where), opt_str(coding, "code", where)
        if system and code:
            found.append((system, code, opt_str(coding, "display", where)))
    return found


def status_codes(concept: JsonObject | None, path: str) -> set[str]:
    """The codes of a status CodeableConcept (clinicalStatus, verificationStatus)."""
    return {code for _system, code, _display in codings(concept, path)}
