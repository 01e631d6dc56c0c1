"""The strict JSON reader (services/documents.py ``parse_json``), without a database:
the depth limit at its exact boundary, and the cheap duplicate-key check against a
plain reference on generated documents — keys spelt with escapes (``\\u0061``, ``\\"``,
``\\u0022``), nested objects and lists, so a duplicate can never slip through the quote
count and a document without one is read exactly as orjson reads it."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from needlewise.errors import InputError
from needlewise.services.documents import MAX_JSON_DEPTH, parse_json


def nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("kind", ["list", "object"])
def test_the_depth_limit_is_exact(kind: str) -> None:
    assert parse_json(nested(MAX_JSON_DEPTH, kind)) is not None
    for depth in (MAX_JSON_DEPTH + 1, 254, 255, 1023, 1025, 5000):
        with pytest.raises(InputError) as refused:
            parse_json(nested(depth, kind))
        assert f"more than {MAX_JSON_DEPTH} levels" in refused.value.problem
        step = "[0]" if kind == "list" else ".a"
        assert refused.value.where == "$" + step * MAX_JSON_DEPTH


# -------------------------------------------------------------- generated documents

KEYS = st.sampled_from(["a", "b", "ab", 'q"', "é", "x:y", ""])


def spell(key: str, how: int) -> str:
    """``key`` as a JSON string literal, spelt one of several ways."""
    if how == 0:
        return json.dumps(key, ensure_ascii=False)
    if how == 1:
        return json.dumps(key, ensure_ascii=True)
    return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'  # every char escaped


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> tuple[str, Any]:
    """(JSON text, the same document as nested lists of members, duplicates kept)."""
    kind = draw(st.sampled_from(["scalar", "list", "object"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        value = draw(st.one_of(st.integers(-5, 5), st.sampled_from(["s", 'a"b', "c:d", "\\"])))
        return json.dumps(value), value
    if kind == "list":
        items = draw(st.lists(documents(depth + 1), max_size=3))
        return "[" + ",".join(t for t, _ in items) + "]", [v for _, v in items]
    members = draw(st.lists(st.tuples(KEYS, st.integers(0, 2), documents(depth + 1)), max_size=4))
    text = "{" + ", ".join(f"{spell(k, how)} : {t}" for k, how, (t, _) in members) + "}"
    return text, ("object", [(k, v) for k, _, (_, v) in members])


def has_duplicate(value: Any) -> bool:
    if isinstance(value, tuple):
        keys = [k for k, _ in value[1]]
        return len(keys) != len(set(keys)) or any(has_duplicate(v) for _, v in value[1])
    if isinstance(value, list):
        return any(has_duplicate(v) for v in value)
    return False


@settings(max_examples=400, deadline=None, derandomize=True)
@given(documents())
def test_duplicate_keys_are_found_however_they_are_spelt(document: tuple[str, Any]) -> None:
    text, value = document
    data = text.encode()
    if has_duplicate(value):
        with pytest.raises(InputError) as refused:
            parse_json(data)
        assert "appears more than once" in refused.value.problem
        assert refused.value.where.startswith("$")
    else:
        assert parse_json(data) == orjson.loads(data)


def test_a_quote_spelt_as_an_escape_is_no_duplicate() -> None:
    data = b'{"a": "\\u0022\\u0022", "b\\"": 1, "b": 2}'
    assert parse_json(data) == {"a": '""', 'b"': 1, "b": 2}
    with pytest.raises(InputError) as refused:
        parse_json(b'{"a": "\\u0022\\u0022", "b": 1, "b": 2}')
    assert refused.value.where == "$.b"
