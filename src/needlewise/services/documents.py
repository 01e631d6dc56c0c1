"""Turn raw request bytes into JSON, and validation errors into :class:`InputError`.

Every JSON body the API reads, and every file the command line reads, goes through
:func:`parse_json`: duplicate keys and nesting deeper than :data:`MAX_JSON_DEPTH` are
refused there, naming the JSON path.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import jiter
import orjson
from pydantic import BaseModel, ValidationError

from needlewise.errors import InputError
from needlewise.services.json_paths import offset_of, path_at

SUPPORTED_LANGUAGES = ("en", "es")
MAX_JSON_DEPTH = 200
"""Deepest JSON nesting accepted (jiter's recursion limit; arrays alone may reach 201).
Real FHIR resources nest a few dozen levels at most."""
_DUPLICATE = re.compile(r'Detected duplicate key "(.*)" at line (\d+) column (\d+)$', re.DOTALL)
_TOO_DEEP = re.compile(r"recursion limit exceeded at line (\d+) column (\d+)$")
M = TypeVar("M", bound=BaseModel)


def parse_json(data: bytes) -> Any:
    """Parse JSON bytes strictly; empty or malformed input raises ``InputError``.

    Besides well-formed JSON (a 400 ``not valid JSON`` otherwise, with line and column),
    a document must not repeat a key within one object (last-one-wins would let two
    readers of the same body see different values) and must not nest deeper than
    :data:`MAX_JSON_DEPTH` levels; both are a 422 naming the JSON path. The check is
    jiter's (``catch_duplicate_keys``; its recursion limit is the depth limit), run
    before orjson reads the document as before.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark, as some editors on Windows write
    if not data.strip():
        raise InputError("the input is empty; expected a JSON document")
    if b"\\u0000" in data or b"\x00" in data:
        # PostgreSQL cannot store the NUL character; refuse it the same way everywhere
        raise InputError("text must not contain the NUL character (\\u0000)")
    problem: str | None = None
    try:
        jiter.from_json(data, allow_inf_nan=False, catch_duplicate_keys=True)
    except ValueError as exc:
        problem = str(exc)
        _refuse_strictly(data, problem)  # a duplicate key or nesting too deep: 422
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if problem is not None:  # jiter refused what orjson read: never skip the check
        raise InputError(f"not valid JSON: {problem}")
    return document


def _refuse_strictly(data: bytes, message: str) -> None:
    """Raise ``InputError`` (422 with the JSON path) when jiter's ``message`` is about a
    duplicate key or nesting too deep; return for anything else (orjson then reports
    the JSON as not valid, with the message it always gave)."""
    duplicate = _DUPLICATE.match(message)
    if duplicate is not None:
        key, line, column = duplicate.groups()
        where = path_at(data, offset_of(data, int(line), int(column)))
        shown = json.dumps(key)[1:-1]
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise InputError(
            f'the key "{shown}" appears more than once in this object; send each key once',
            where,
        )
    too_deep = _TOO_DEEP.match(message)
    if too_deep is not None:
        line, column = too_deep.groups()
        raise InputError(
            f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep here; "
            "send a flatter document",
            path_at(data, offset_of(data, int(line), int(column))),
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
    if base not in SUPPORTED_LANGUAGES:
        raise InputError(
            f"language {language!r} is not supported; use one of {', '.join(SUPPORTED_LANGUAGES)}",
            where,
        )
    return base
