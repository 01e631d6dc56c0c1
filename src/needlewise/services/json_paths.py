"""The JSON path at a byte offset of raw JSON text, for error messages.

A parser that refuses a document (a duplicate key, nesting too deep) reports a line and
a column; callers need the JSON path (``$.entry[3].resource.status``) to say where.
:func:`path_at` rebuilds it by reading the text up to that point with an explicit stack
(no recursion, so any depth is safe). Only refused input is read this way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# a string (with its escapes) or one structural character; numbers, literals and white
# space between them need no attention
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


def offset_of(data: bytes, line: int, column: int) -> int:
    """Byte offset of a 1-based ``line`` (lines end with ``\\n``) and byte ``column``."""
    start = 0
    for _ in range(line - 1):
        found = data.find(b"\n", start)
        if found < 0:
            break
        start = found + 1
    return min(len(data), start + max(column - 1, 0))


def _key(token: bytes) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1].decode("utf-8", "replace")
    return key if isinstance(key, str) else str(key)


@dataclass(slots=True)
class _Open:
    """One open container while reading."""

    is_object: bool
    key: str | None = None  # the key last read (objects)
    index: int = 0  # the element being read (arrays)
    expecting_key: bool = True


def path_at(data: bytes, offset: int) -> str:
    """The JSON path of the value being read at ``offset`` of ``data``.

    Inside an object, the path ends with the key last read there; inside an array, with
    the index of the element being read.
    """
    stack: list[_Open] = []
    for match in _TOKEN.finditer(data):
        if match.start() >= offset:
            break
        token = match.group()
        top = stack[-1] if stack else None
        if token == b"{":
            stack.append(_Open(is_object=True))
        elif token == b"[":
            stack.append(_Open(is_object=False))
        elif token in (b"}", b"]"):
            if stack:
                stack.pop()
        elif top is None:
            continue
        elif token == b",":
            top.index += 1
            top.expecting_key = True
        elif token == b":":
            top.expecting_key = False
        elif top.is_object and top.expecting_key:
            top.key = _key(token)
    path = "$"
    for container in stack:
        if not container.is_object:
            path += f"[{container.index}]"
        elif container.key is not None:
            path += f".{container.key}"
    return path
