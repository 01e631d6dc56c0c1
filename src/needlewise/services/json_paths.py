"""Where in raw JSON text a document breaks a rule, as a JSON path, for error messages.

:func:`too_deep_at` finds where nesting first goes deeper than a limit, and
:func:`duplicate_key` the first object that repeats a key. Both read with an explicit
stack (no recursion, so any depth is safe); only refused input, or input that needs a
closer look, is read this way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# a string (with its escapes) or one structural character; numbers, literals and white
# space between them need no attention
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


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


def _path(stack: list[_Open]) -> str:
    path = "$"
    for container in stack:
        if not container.is_object:
            path += f"[{container.index}]"
        elif container.key is not None:
            path += f".{container.key}"
    return path


def too_deep_at(data: bytes, limit: int) -> str | None:
    """The JSON path of the first container nested more than ``limit`` levels deep in the
    JSON text ``data`` (``None`` when there is none)."""
    stack: list[_Open] = []
    for match in _TOKEN.finditer(data):
        token = match.group()
        top = stack[-1] if stack else None
        if token in (b"{", b"["):
            if len(stack) >= limit:
                return _path(stack)
            stack.append(_Open(is_object=token == b"{"))
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
    return None


class _Members(list[tuple[str, Any]]):
    """A JSON object as the list of its members, in order, duplicates kept."""


def duplicate_key(data: bytes) -> tuple[str, str] | None:
    """(key, JSON path of its second appearance) of the first object in ``data`` that
    repeats a key — an outer object before the objects inside it — or ``None``.

    ``data`` must be valid JSON nested no deeper than the interpreter's recursion allows
    (the callers have checked both)."""
    tree = json.loads(data, object_pairs_hook=_Members)
    stack: list[tuple[Any, str]] = [(tree, "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Members):
            seen: set[str] = set()
            for key, _value in node:
                if key in seen:
                    return key, f"{path}.{key}"
                seen.add(key)
            stack.extend((value, f"{path}.{key}") for key, value in reversed(node))
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{i}]") for i, value in reversed(list(enumerate(node))))
    return None
