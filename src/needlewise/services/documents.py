"""Turn raw request bytes into JSON, and validation errors into :class:`InputError`.

Every JSON body the API reads, and every file the command line reads, goes through
:func:`parse_json`: duplicate keys and nesting deeper than :data:`MAX_JSON_DEPTH` are
refused there, naming the JSON path.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from needlewise.errors import InputError
from needlewise.languages import LANGUAGES
from needlewise.services.json_paths import duplicate_key, too_deep_at

MAX_JSON_DEPTH = 200
"""Deepest JSON nesting accepted (an object or a list is one level). Real FHIR resources
nest a few dozen levels at most; 200 leaves room below orjson's limit of 254 for the
wrapping a stored document gets."""
_ORJSON_MAX_DEPTH = 254  # orjson.dumps refuses deeper (tests/security pin the boundary)
_WRAP = _ORJSON_MAX_DEPTH - MAX_JSON_DEPTH
M = TypeVar("M", bound=BaseModel)


def parse_json(data: bytes) -> Any:
    """Parse JSON bytes strictly; empty or malformed input raises ``InputError``.

    Besides well-formed JSON (a 400 ``not valid JSON`` otherwise, with line and column),
    a document must not nest deeper than :data:`MAX_JSON_DEPTH` levels and must not
    repeat a key within one object (last-one-wins would let two readers of the same body
    see different values); both are a 422 naming the JSON path.

    How, cheaply: orjson parses as before, then writes the document back wrapped in
    :data:`_WRAP` lists, which fails past orjson's own limit (254 levels) exactly when
    the document nests deeper than :data:`MAX_JSON_DEPTH`. A duplicate key shows as
    fewer ``"`` bytes written than read: every ``"`` read is a string's delimiter or an
    escaped ``\\"``, which orjson writes back the same way, and a member dropped for a
    repeated key takes at least its key's two delimiters with it. Only ``\\u0022`` (a
    quote written another way) can add ``"`` bytes; a document holding it, or whose
    counts differ, is read again by the standard library, keeping every member, to name
    the repeated key and its path.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark, as some editors on Windows write
    if not data.strip():
        raise InputError("the input is empty; expected a JSON document")
    if b"\\u0000" in data or b"\x00" in data:
        # PostgreSQL cannot store the NUL character; refuse it the same way everywhere
        raise InputError("text must not contain the NUL character (\\u0000)")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth" in exc.msg:  # past orjson's own limit (1,024 levels)
            _too_deep(data)
        raise InputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    wrapped: Any = document
    for _ in range(_WRAP):
        wrapped = [wrapped]
    try:
        written = orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        _too_deep(data)
        raise
    if written.count(b'"') != data.count(b'"') or b"\\u0022" in data:
        found = duplicate_key(data)
        if found is not None:
            key, where = found
            shown = json.dumps(key)[1:-1]
            if len(shown) > 60:
                shown = shown[:57] + "..."
            raise InputError(
                f'the key "{shown}" appears more than once in this object; send each key once',
                where,
            )
    return document


def _too_deep(data: bytes) -> None:
    """Raise the 422 for JSON nested deeper than :data:`MAX_JSON_DEPTH`."""
    raise InputError(
        f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep here; send a flatter document",
        too_deep_at(data, MAX_JSON_DEPTH) or "$",
    )


def json_path(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate(model: type[M], document: Any) -> M:
    """Validate ``document`` against ``model``; the first problem becomes an ``InputError``."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        elif first["type"] == "missing":
            message = "required field is missing"
        raise InputError(message, json_path(tuple(first["loc"]))) from None


def check_language(language: str, where: str = "$.language") -> str:
    base = language.split("-")[0].lower()
    if base not in LANGUAGES:
        raise InputError(
            f"language {language!r} is not supported; use one of {', '.join(LANGUAGES)}",
            where,
        )
    return base
