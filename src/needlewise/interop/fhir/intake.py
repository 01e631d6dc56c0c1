"""Intake QuestionnaireResponse -> :class:`~needlewise.domain.facts.IntakeAnswer` per rule.

Answers are read from items whose ``linkId`` is a contraindication id, at any depth.
Accepted answer values: ``valueBoolean``; ``valueCoding`` with HL7 v2-0136 ``Y``/``N``
or v3-NullFlavor ``UNK``/``ASKU`` ("not sure"). Items with other linkIds are ignored
(clinics may add their own questions); an item answered twice, or with another value
type, or nested more than :data:`MAX_ITEM_DEPTH` levels deep, is an input error.
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
MAX_ITEM_DEPTH = 32
"""Deepest nesting of QuestionnaireResponse items read (an item inside an answer counts
one level, like an item inside an item); real questionnaires nest a few levels."""


def walk_items(container: JsonObject, path: str) -> Iterator[tuple[JsonObject, str]]:
    """Every item of a QuestionnaireResponse, depth first, with its path.

    Nested items are followed both under ``item`` and under each answer's ``item``, with
    an explicit stack (no recursion, whatever the nesting). An item nested more than
    :data:`MAX_ITEM_DEPTH` levels deep is an input error naming its path.
    """
    stack: list[Iterator[tuple[JsonObject, str, int]]] = [_items(container, path, 1)]
    while stack:
        found = next(stack[-1], None)
        if found is None:
            stack.pop()
            continue
        item, where, level = found
        yield item, where
        if "item" in item or "answer" in item:
            stack.append(_below(item, where, level + 1))


def _items(container: JsonObject, path: str, level: int) -> Iterator[tuple[JsonObject, str, int]]:
    """The items directly under ``container`` (at nesting ``level``), checked."""
    items = container.get("item")
    if items is None:
        return
    if type(items) is not list:
        opt_list(container, "item", path)  # raises with the path
    base = f"{path}.item"
    for i, item in enumerate(items):
        where = f"{base}[{i}]"
        if level > MAX_ITEM_DEPTH:
            raise InputError(
                f"items are nested more than {MAX_ITEM_DEPTH} levels deep; "
                "send a flatter QuestionnaireResponse",
                where,
            )
        if type(item) is not dict:
            expect_object(item, where, "an item object")
        yield item, where, level


def _below(item: JsonObject, where: str, level: int) -> Iterator[tuple[JsonObject, str, int]]:
    """The items one level under ``item``: its own ``item``, then each answer's."""
    if "item" in item:
        yield from _items(item, where, level)
    answers = item.get("answer")
    if answers is None:
        return
    if type(answers) is not list:
        opt_list(item, "answer", where)  # raises with the path
    for j, answer in enumerate(answers):
        if type(answer) is not dict:
            expect_object(answer, f"{where}.answer[{j}]")
        if "item" in answer:
            yield from _items(answer, f"{where}.answer[{j}]", level)


def single_answer(item: JsonObject, where: str, link_id: str) -> JsonObject | None:
    """The one answer of an item, ``None`` when unanswered."""
    answers = opt_list(item, "answer", where)
    if not answers:
        return None
    if len(answers) > 1:
        raise InputError(f"item {link_id} has {len(answers)} answers; expected one", where)
    answer = answers[0]
    if type(answer) is not dict:
        expect_object(answer, child(child(where, "answer"), 0), "an answer object")
    return answer  # type: ignore[no-any-return]


def yes_no_unsure(answer: JsonObject, where: str, link_id: str) -> Answer:
    """Read a yes / no / not-sure answer (paths are built only for an error message)."""
    value: Any = answer.get("valueBoolean")
    if isinstance(value, bool):
        return "yes" if value else "no"
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = coding.get("code")
        system = coding.get("system")
        if (
            type(code) is str
            and code in _CODED_ANSWERS
            and (system is None or (type(system) is str and system in _ANSWER_SYSTEMS))
        ):
            return _CODED_ANSWERS[code]
        path = child(child(child(where, "answer"), 0), "valueCoding")
        code = opt_str(coding, "code", path)  # raises for a code that is not a string
        opt_str(coding, "system", path)
        raise InputError(
            f"item {link_id}: answer code {code!r} is not Y, N or UNK "
            f"(systems {YES_NO_SYSTEM} and {NULL_FLAVOR_SYSTEM})",
            path,
        )
    raise InputError(
        f"item {link_id}: the answer must be valueBoolean or a valueCoding Y / N / UNK",
        child(child(where, "answer"), 0),
    )


def read_intake_answers(
    response: JsonObject, path: str, rule_ids: frozenset[str]
) -> dict[str, IntakeAnswer]:
    """Answers to the intake questions, by rule id."""
    rid = opt_str(response, "id", path) or "(no id)"
    flat = _flat_answers(response, rid, rule_ids)
    return flat if flat is not None else _walked_answers(response, path, rid, rule_ids)


def _flat_answers(
    response: JsonObject, rid: str, rule_ids: frozenset[str]
) -> dict[str, IntakeAnswer] | None:
    """The common shape, read in one tight loop: items at the top level only, each with a
    linkId and at most one answer, yes / no / not sure. ``None`` for anything else (nested
    items, a problem to report): :func:`_walked_answers` then reads it, or explains what
    is wrong with the JSON path. Both give the same answers (tests/interop check it)."""
    items = response.get("item")
    if items is None:
        return {}
    if type(items) is not list:
        return None
    answers: dict[str, IntakeAnswer] = {}
    for item in items:
        if type(item) is not dict or "item" in item:
            return None
        link_id = item.get("linkId")
        if type(link_id) is not str:
            return None
        given = item.get("answer")
        if given is not None:
            if type(given) is not list:
                return None
            for answer in given:
                if type(answer) is not dict or "item" in answer:
                    return None
        if link_id not in rule_ids:
            continue
        if link_id in answers or (given is not None and len(given) > 1):
            return None
        if not given:
            continue
        value = _plain_answer(given[0])
        if value is None:
            return None
        answers[link_id] = IntakeAnswer(
            link_id, value, f"QuestionnaireResponse/{rid} item {link_id}"
        )
    return answers


def _plain_answer(answer: JsonObject) -> Answer | None:
    """A well-formed yes / no / not-sure answer, or ``None``."""
    value = answer.get("valueBoolean")
    if isinstance(value, bool):
        return "yes" if value else "no"
    coding = answer.get("valueCoding")
    if type(coding) is not dict:
        return None
    code, system = coding.get("code"), coding.get("system")
    if (
        type(code) is str
        and code in _CODED_ANSWERS
        and (system is None or (type(system) is str and system in _ANSWER_SYSTEMS))
    ):
        return _CODED_ANSWERS[code]
    return None


def _walked_answers(
    response: JsonObject, path: str, rid: str, rule_ids: frozenset[str]
) -> dict[str, IntakeAnswer]:
    """Any shape (nested items too), with a JSON path in every error."""
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
