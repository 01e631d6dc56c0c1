"""Intake answers are read by a tight loop for the common flat shape and by the general
walker for everything else: both must give the same answers, the fast loop must really
be taken for the flat shapes, and anything it does not take must still be read or refused
with the walker's JSON path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from needlewise.errors import InputError
from needlewise.interop.fhir.canonical import NULL_FLAVOR_SYSTEM, YES_NO_SYSTEM
from needlewise.interop.fhir.intake import _flat_answers, _walked_answers, read_intake_answers

RULES = frozenset({"contraindication.a", "contraindication.b", "contraindication.c"})


def coded(code: str, system: str | None = YES_NO_SYSTEM) -> list[dict[str, Any]]:
    coding = {"code": code} if system is None else {"system": system, "code": code}
    return [{"valueCoding": coding}]


def response(*items: Any, rid: str | None = "qr-1") -> dict[str, Any]:
    doc: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "item": list(items)}
    if rid is not None:
        doc["id"] = rid
    return doc


A, B, C = "contraindication.a", "contraindication.b", "contraindication.c"

# Shapes the fast loop reads itself.
FLAT = {
    "coded yes/no/unsure": response(
        {"linkId": A, "answer": coded("Y")},
        {"linkId": B, "answer": coded("N")},
        {"linkId": C, "answer": coded("UNK", NULL_FLAVOR_SYSTEM)},
    ),
    "booleans": response(
        {"linkId": A, "answer": [{"valueBoolean": True}]},
        {"linkId": B, "answer": [{"valueBoolean": False}]},
    ),
    "asked but unknown, no system": response({"linkId": A, "answer": coded("ASKU", None)}),
    "unanswered and empty answers": response({"linkId": A}, {"linkId": B, "answer": []}),
    "clinic's own questions ignored": response(
        {"linkId": "clinic.parking", "answer": [{"valueString": "yes"}, {"valueString": "x"}]},
        {"linkId": A, "answer": coded("N")},
    ),
    "no items": {"resourceType": "QuestionnaireResponse"},
    "no id": response({"linkId": A, "answer": coded("Y")}, rid=None),
}

# Shapes the fast loop leaves to the walker, which reads them.
NESTED = {
    "group of questions": response(
        {"linkId": "group", "item": [{"linkId": A, "answer": coded("Y")}]}
    ),
    "question under an answer": response(
        {
            "linkId": "clinic.any",
            "answer": [{"valueBoolean": True, "item": [{"linkId": B, "answer": coded("N")}]}],
        }
    ),
}

# Shapes that are refused, with the walker's path.
BAD = {
    "items not a list": ({"resourceType": "QuestionnaireResponse", "item": {}}, "$.item"),
    "item not an object": (response("x"), "$.item[0]"),
    "item without a linkId": (response({"answer": coded("Y")}), "$.item[0]"),
    "linkId not a string": (response({"linkId": 3}), "$.item[0].linkId"),
    "answer not a list": (response({"linkId": A, "answer": {}}), "$.item[0].answer"),
    "answer not an object": (response({"linkId": A, "answer": ["Y"]}), "$.item[0].answer[0]"),
    "two answers": (response({"linkId": A, "answer": coded("Y") + coded("N")}), "$.item[0]"),
    "asked twice": (
        response({"linkId": A, "answer": coded("Y")}, {"linkId": A, "answer": coded("N")}),
        "$.item[1]",
    ),
    "unknown code": (
        response({"linkId": A, "answer": coded("MAYBE")}),
        "$.item[0].answer[0].valueCoding",
    ),
    "other code system": (
        response({"linkId": A, "answer": coded("Y", "http://example.org/codes")}),
        "$.item[0].answer[0].valueCoding",
    ),
    "string answer": (
        response({"linkId": A, "answer": [{"valueString": "yes"}]}),
        "$.item[0].answer[0]",
    ),
}


@pytest.mark.parametrize("name", list(FLAT))
def test_flat_shapes_take_the_fast_loop_and_read_the_same(name: str) -> None:
    doc = FLAT[name]
    rid = doc.get("id", "(no id)")
    fast = _flat_answers(doc, rid, RULES)
    assert fast is not None, "the fast loop should read this shape itself"
    assert fast == _walked_answers(doc, "$", rid, RULES)
    assert read_intake_answers(doc, "$", RULES) == fast


def test_answers_read_from_a_flat_response() -> None:
    answers = read_intake_answers(FLAT["coded yes/no/unsure"], "$", RULES)
    assert {rule: a.answer for rule, a in answers.items()} == {A: "yes", B: "no", C: "unsure"}
    assert answers[A].where == "QuestionnaireResponse/qr-1 item contraindication.a"


@pytest.mark.parametrize("name", list(NESTED))
def test_nested_shapes_are_read_by_the_walker(name: str) -> None:
    doc = NESTED[name]
    assert _flat_answers(doc, "qr-1", RULES) is None
    answers = read_intake_answers(doc, "$", RULES)
    assert len(answers) == 1
    assert answers == _walked_answers(doc, "$", "qr-1", RULES)


@pytest.mark.parametrize("name", list(BAD))
def test_problems_are_refused_with_their_path(name: str) -> None:
    doc, where = BAD[name]
    before = copy.deepcopy(doc)
    assert _flat_answers(doc, "qr-1", RULES) is None
    with pytest.raises(InputError) as refused:
        read_intake_answers(doc, "$", RULES)
    assert refused.value.where == where
    assert doc == before  # reading never changes the input
