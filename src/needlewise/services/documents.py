"""Turn raw request bytes into JSON, and validation errors into :class:`InputError`."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from needlewise.errors import InputError

SUPPORTED_LANGUAGES = ("en", "es")
M = TypeVar("M", bound=BaseModel)


def parse_json(data: bytes) -> Any:
    """Parse JSON bytes; empty or malformed input raises ``InputError``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark, as some editors on Windows write
    if not data.strip():
        raise InputError("the input is empty; expected a JSON document")
    if b"\\u0000" in data or b"\x00" in data:
        # PostgreSQL cannot store the NUL character; refuse it the same way everywhere
        raise InputError("text must not contain the NUL character (\\u0000)")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


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
