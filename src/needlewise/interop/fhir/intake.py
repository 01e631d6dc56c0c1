"""Intake QuestionnaireResponse -> :class:`~needlewise.domain.facts.IntakeAnswer` per rule.

Answers are read from items whose ``linkId`` is a contraindication id, at any depth.
Accepted answer values: ``valueBoolean``; ``valueCoding`` with HL7 v2-0136 ``Y``/``N``
or v3-NullFlavor ``UNK``/``ASKU`` ("not sure"). Items with other linkIds are ignored
(clinics may add their own questions); an item answered twice, or with another value
type, is an input error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from needlewise.domain.facts import Answer, IntakeAnswer
from needlewise.errors import InputError
from needlewise.interop.fhir.access import JsonObject, child, expect_object, opt_list, opt_str
from needlewise.interop.fhir.canonical import NULL_FLAVOR_SYSTEM, YES_NO_SYSTEM

_CODED_ANSWERS: dict[str, Answer] = {"Y": "yes", "N": "no", "UNK": "unsure", "ASKU": "unsure"}
_ANSWER_SYSTEMS = {YES_NO_SYSTEM, NULL_FLAVOR_SYSTEM}


def walk_items(container: JsonObject, path: str) -> Iterator[tuple[JsonObject, str]]:
    """Every item of a QuestionnaireResponse, depth first, with its path."""
    for i, raw in enumerate(opt_list(container, "item", path)):
        where = child(child(path, "item"), i)
        item = expect_object(raw, where, "an item object")
        yield item, where
        yield from walk_items(item, where)
        for j, answer in enumerate(opt_list(item, "answer", where)):
            answer_path = child(child(where, "answer"), j)
            yield from walk_items(expect_object(answer, answer_path), answer_path)


def single_answer(item: JsonObject, where: str, link_id: str) -> JsonObject | None:
    """The one answer of an item, ``None`` when unanswered."""
    answers = opt_list(item, "answer", where)
    if not answers:
        return None
    if len(answers) > 1:
        raise InputError(f"item {link_id} has {len(answers)} answers; expected one", where)
    return expect_object(answers[0], child(child(where, "answer"), 0), "an answer object")


def yes_no_unsure(answer: JsonObject, where: str, link_id: str) -> Answer:
    """Read a yes / no / not-sure answer."""
    path = child(child(where, "answer"), 0)
    value: Any = answer.get("valueBoolean")
    if isinstance(value, bool):
        return "yes" if value else "no"
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = opt_str(coding, "code", child(path, "valueCoding"))
        system = opt_str(coding, "system", child(path, "valueCoding"))
        if code in _CODED_ANSWERS and (system is None or system in _ANSWER_SYSTEMS):
            return _CODED_ANSWERS[code]
        raise InputError(
            f"item {link_id}: answer code {code!r} is not Y, N or UNK "
            f"(systems {YES_NO_SYSTEM} and {NULL_FLAVOR_SYSTEM})",
            child(path, "valueCoding"),
        )
    raise InputError(
        f"item {link_id}: the answer must be valueBoolean or a valueCoding Y / N / UNK", path
    )


def read_intake_answers(
    response: JsonObject, path: str, rule_ids: frozenset[str]
) -> dict[str, IntakeAnswer]:
    """Answers to the intake questions, by rule id."""
    rid = opt_str(response, "id", path) or "(no id)"
    answers: dict[str, IntakeAnswer] = {}
    for item, where in walk_items(response, path):
        link_id = opt_str(item, "linkId", where)
        if link_id is None:
            raise InputError("item without a linkId", where)
        if link_id not in rule_ids:
            continue
        if link_id in answers:
            raise InputError(f"item {link_id} appears twice", where)
        answer = single_answer(item, where, link_id)
        if answer is None:
            continue
        value = yes_no_unsure(answer, where, link_id)
        answers[link_id] = IntakeAnswer(
            rule=link_id, answer=value, where=f"QuestionnaireResponse/{rid} item {link_id}"
        )
    return answers
