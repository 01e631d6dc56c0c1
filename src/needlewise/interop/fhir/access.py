"""Path-aware access to raw FHIR JSON, so every problem names where it is.

Bulk paths read FHIR as plain dicts (parsing with fhir.resources is ~20x slower than
orjson; stack-notes.md). These helpers check the types the readers rely on and raise
:class:`~needlewise.errors.InputError` with a JSON path such as
``$.entry[3].resource.clinicalStatus``. Functions take the *container's* path and the
key, and build the child's path only when they raise: building path strings for every
field read was most of the cost of screening.
"""

from __future__ import annotations

from typing import Any

from needlewise.domain.facts import Code
from needlewise.errors import InputError

JsonObject = dict[str, Any]


def child(path: str, key: str | int) -> str:
    """``$.entry`` + ``3`` -> ``$.entry[3]``; ``$`` + ``code`` -> ``$.code``."""
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def kind_of(value: Any) -> str:
    """How a JSON value is described in error messages."""
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


def expect_object(value: Any, path: str, what: str = "an object") -> JsonObject:
    if type(value) is not dict:
        raise InputError(f"expected {what}, found {kind_of(value)}", path)
    return value


def opt_object(parent: JsonObject, key: str, path: str) -> JsonObject | None:
    value = parent.get(key)
    if value is None or type(value) is dict:
        return value
    raise InputError(f"expected an object, found {kind_of(value)}", child(path, key))


def opt_list(parent: JsonObject, key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise InputError(f"expected a list, found {kind_of(value)}", child(path, key))
    return value


def opt_str(parent: JsonObject, key: str, path: str) -> str | None:
    value = parent.get(key)
    if value is None or type(value) is str:
        return value
    raise InputError(f"expected a string, found {kind_of(value)}", child(path, key))


def _join(path: str, key: str | None) -> str:
    return path if key is None else child(path, key)


def codings(concept: JsonObject | None, path: str, key: str | None = None) -> tuple[Code, ...]:
    """Codings of a CodeableConcept that have both a system and a code.

    The concept sits at ``path`` (or at ``path.key`` when ``key`` is given: the joined
    path is only built for an error message).
    """
    if concept is None:
        return ()
    raw = concept.get("coding")
    if raw is None:
        return ()
    if type(raw) is not list:
        raise InputError(f"expected a list, found {kind_of(raw)}", f"{_join(path, key)}.coding")
    found = []
    for i, coding in enumerate(raw):
        if type(coding) is not dict:
            where = f"{_join(path, key)}.coding[{i}]"
            raise InputError(f"expected a Coding object, found {kind_of(coding)}", where)
        system = coding.get("system")
        code = coding.get("code")
        display = coding.get("display")
        if type(system) is str and type(code) is str:
            found.append(Code(system, code, display if type(display) is str else None))
            continue
        for name, value in (("system", system), ("code", code), ("display", display)):
            if value is not None and type(value) is not str:
                where = f"{_join(path, key)}.coding[{i}].{name}"
                raise InputError(f"expected a string, found {kind_of(value)}", where)
    return tuple(found)


def concept_codes(parent: JsonObject, key: str, path: str) -> tuple[Code, ...]:
    """Codings of the CodeableConcept ``parent[key]``."""
    concept = parent.get(key)
    if concept is None:
        return ()
    if type(concept) is not dict:
        raise InputError(f"expected an object, found {kind_of(concept)}", child(path, key))
    return codings(concept, path, key)


def status_codes(parent: JsonObject, key: str, path: str) -> set[str]:
    """The codes of a status CodeableConcept (clinicalStatus, verificationStatus)."""
    return {c.code for c in concept_codes(parent, key, path)}
