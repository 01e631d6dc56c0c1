"""Session coding through ``code_session_document``.

CPT 20560 = 1 or 2 muscles, 20561 = 3 or more, one line per session (clinical-knowledge.md
section 5.1). Each distinct muscle counts once; how payers count the same muscle on both
sides is not confirmed (policy.bilateral-count-unverified). Session checks: muscles over
the lung on both sides (policy.bilateral-near-lung, BN121), the pneumothorax safety net
(policy.near-lung-safety-net) and non-compressible muscles (policy.non-compressible-muscle).
"""

from __future__ import annotations

from typing import Any

import pytest

from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.coding import code_session_document

# Muscles away from the lung and compressible (muscles.yaml), used as plain fillers.
PLAIN = [
    "muscle.deltoid",
    "muscle.biceps-brachii",
    "muscle.triceps-brachii",
    "muscle.wrist-extensors",
    "muscle.gluteus-medius",
    "muscle.quadriceps",
    "muscle.hamstrings",
    "muscle.gastrocnemius",
]
BILATERAL_COUNT = "policy.bilateral-count-unverified"
BILATERAL_LUNG = "policy.bilateral-near-lung"
SAFETY_NET = "policy.near-lung-safety-net"
NON_COMPRESSIBLE = "policy.non-compressible-muscle"
ASK_AGAIN = "policy.ask-again-at-visit"  # every session: answers that change before the visit


def session(*muscles: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return {"muscles": [{"muscle": m, "laterality": side} for m, side in muscles], **extra}


def checks(result: Any) -> list[str]:
    return [c.id for c in result.checks]


# ------------------------------------------------------------------ code by muscle count

COUNT_ROWS = [(1, "20560"), (2, "20560"), (3, "20561"), (8, "20561")]


@pytest.mark.parametrize(("count", "code"), COUNT_ROWS, ids=[f"{n}-muscles" for n, _ in COUNT_ROWS])
def test_code_follows_distinct_muscle_count(kb: KnowledgeBase, count: int, code: str) -> None:
    sides = ["left", "right", "midline"]
    document = session(*((m, sides[i % 3]) for i, m in enumerate(PLAIN[:count])))
    result = code_session_document(document, kb)
    (line,) = result.lines
    assert line.code == code
    assert line.muscle_count == count
    assert line.units == 1
    assert line.system == "http://www.ama-assn.org/go/cpt"


def test_every_muscle_in_the_plain_list_is_plain(kb: KnowledgeBase) -> None:
    for muscle_id in PLAIN:
        muscle = kb.muscle(muscle_id)
        assert muscle is not None
        assert (muscle.near_lung, muscle.compressible) == (False, True), muscle_id


DUPLICATE_ROWS = [
    ("same-side-twice", [("muscle.deltoid", "left"), ("muscle.deltoid", "left")], 1),
    ("left-then-right", [("muscle.deltoid", "left"), ("muscle.deltoid", "right")], 1),
    (
        "repeat-of-two",
        [("muscle.deltoid", "left"), ("muscle.quadriceps", "left"), ("muscle.deltoid", "left")],
        2,
    ),
]


@pytest.mark.parametrize(
    ("muscles", "count"), [r[1:] for r in DUPLICATE_ROWS], ids=[r[0] for r in DUPLICATE_ROWS]
)
def test_same_muscle_counts_once(
    kb: KnowledgeBase, muscles: list[tuple[str, str]], count: int
) -> None:
    result = code_session_document(session(*muscles), kb)
    assert result.lines[0].muscle_count == count
    assert result.lines[0].code == "20560"
    assert len(result.muscles) == count


def test_short_muscle_ids_are_accepted(kb: KnowledgeBase) -> None:
    result = code_session_document(session(("deltoid", "left"), ("psoas", "midline")), kb)
    assert [m["muscle"] for m in result.muscles] == ["muscle.deltoid", "muscle.psoas"]


# ------------------------------------------------------------------ bilateral counting

BILATERAL_ROWS: list[tuple[str, list[tuple[str, str]], str, bool]] = [
    # 2 distinct, 3 counting each side: the code would change -> review
    ("bilateral-plus-one", [("muscle.deltoid", "bilateral"), ("muscle.quadriceps", "left")], "20560", True),
    ("left-right-plus-one", [("muscle.deltoid", "left"), ("muscle.deltoid", "right"), ("muscle.quadriceps", "left")], "20560", True),
    # 1 distinct, 2 counting each side: same code -> no review
    ("one-bilateral", [("muscle.deltoid", "bilateral")], "20560", False),
    # 3 distinct, 4 counting each side: same code -> no review
    ("bilateral-plus-two", [("muscle.deltoid", "bilateral"), ("muscle.quadriceps", "left"), ("muscle.hamstrings", "right")], "20561", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("muscles", "code", "review"),
    [r[1:] for r in BILATERAL_ROWS],
    ids=[r[0] for r in BILATERAL_ROWS],
)
def test_bilateral_count_check(
    kb: KnowledgeBase, muscles: list[tuple[str, str]], code: str, review: bool
) -> None:
    result = code_session_document(session(*muscles), kb)
    assert result.lines[0].code == code
    assert result.needs_review is review
    assert (BILATERAL_COUNT in checks(result)) is review


# ------------------------------------------------------------------ session checks

CHECK_ROWS: list[tuple[str, list[tuple[str, str]], set[str], bool]] = [
    ("near-lung-both-sides", [("muscle.upper-trapezius", "left"), ("muscle.rhomboids", "right")], {BILATERAL_LUNG, SAFETY_NET, ASK_AGAIN}, True),
    ("near-lung-bilateral", [("muscle.thoracic-paraspinals", "bilateral")], {BILATERAL_LUNG, SAFETY_NET, ASK_AGAIN}, True),
    ("near-lung-left-only", [("muscle.upper-trapezius", "left"), ("muscle.rhomboids", "left")], {SAFETY_NET, ASK_AGAIN}, False),
    ("near-lung-right-plus-plain-left", [("muscle.infraspinatus", "right"), ("muscle.deltoid", "left")], {SAFETY_NET, ASK_AGAIN}, False),
    # issue 8: a muscle whose nearness to the lung is not confirmed counts as near it
    ("unconfirmed-near-lung-both-sides", [("muscle.quadratus-lumborum", "bilateral")], {BILATERAL_LUNG, SAFETY_NET, ASK_AGAIN}, True),
    ("unconfirmed-near-lung-one-side", [("muscle.sternocleidomastoid", "left")], {SAFETY_NET, ASK_AGAIN}, False),
    ("psoas", [("muscle.psoas", "left")], {NON_COMPRESSIBLE, ASK_AGAIN}, False),
    ("tibialis-posterior", [("muscle.tibialis-posterior", "right")], {NON_COMPRESSIBLE, ASK_AGAIN}, False),
    ("plain", [("muscle.deltoid", "left"), ("muscle.quadriceps", "right")], {ASK_AGAIN}, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("muscles", "expected", "review"), [r[1:] for r in CHECK_ROWS], ids=[r[0] for r in CHECK_ROWS]
)
def test_session_checks(
    kb: KnowledgeBase, muscles: list[tuple[str, str]], expected: set[str], review: bool
) -> None:
    result = code_session_document(session(*muscles), kb)
    assert set(checks(result)) == expected
    assert result.needs_review is review
    for check in result.checks:
        assert check.text.startswith(kb.policy(check.id).explanation.en)


def test_checks_name_the_muscles(kb: KnowledgeBase) -> None:
    result = code_session_document(
        session(("muscle.psoas", "left"), ("muscle.rhomboids", "left")), kb
    )
    by_id = {c.id: c.text for c in result.checks}
    assert "Psoas" in by_id[NON_COMPRESSIBLE]
    assert "Rhomboid major and minor" in by_id[SAFETY_NET]


def test_unconfirmed_near_lung_muscle_is_named_as_not_confirmed(kb: KnowledgeBase) -> None:
    result = code_session_document(
        session(("muscle.sternocleidomastoid", "left"), ("muscle.rhomboids", "left")), kb
    )
    text = {c.id: c.text for c in result.checks}[SAFETY_NET]
    assert "(not confirmed)" in text
    assert "Rhomboid major and minor (not confirmed)" not in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_session_asks_again_what_can_change_before_the_visit(
    kb: KnowledgeBase, language: str
) -> None:
    # issue 8 (content review 3): the intake may be days old; an acute illness is asked again
    again = [c for c in kb.contraindications if c.ask_again_at_visit]
    assert "contraindication.acute-illness" in [c.id for c in again]
    result = code_session_document(session(("muscle.deltoid", "left"), language=language), kb)
    text = {c.id: c.text for c in result.checks}[ASK_AGAIN]
    assert text.startswith(kb.policy(ASK_AGAIN).explanation.get(language))
    for rule in again:
        assert rule.title.get(language) in text


# ------------------------------------------------------------------ coverage, documentation

PAYERS = [None, "medicare", "commercial", "workers-comp", "military"]


@pytest.mark.parametrize("payer", PAYERS, ids=[str(p) for p in PAYERS])
def test_coverage_notes_follow_the_payer(kb: KnowledgeBase, payer: str | None) -> None:
    extra = {} if payer is None else {"payer": payer}
    result = code_session_document(session(("muscle.deltoid", "left"), **extra), kb)
    expected = [
        c.id for c in kb.data.billing.coverage if payer is None or c.payer in (payer, "any")
    ]
    assert [c.id for c in result.coverage] == expected
    assert expected


def test_medicare_gets_only_medicare_and_general_notes(kb: KnowledgeBase) -> None:
    result = code_session_document(session(("muscle.deltoid", "left"), payer="medicare"), kb)
    payer_of = {c.id: c.payer for c in kb.data.billing.coverage}
    assert {payer_of[c.id] for c in result.coverage} == {"medicare", "any"}
    assert "coverage.medicare-not-covered" in [c.id for c in result.coverage]


def test_every_documentation_item_is_listed(kb: KnowledgeBase) -> None:
    result = code_session_document(session(("muscle.deltoid", "left")), kb)
    assert [d.id for d in result.documentation] == [d.id for d in kb.data.billing.documentation]
    assert all(d.text for d in result.documentation)


def test_spanish(kb: KnowledgeBase) -> None:
    result = code_session_document(session(("muscle.psoas", "left"), language="es"), kb)
    assert result.language == "es"
    assert result.lines[0].title == "Punción seca, 1 o 2 músculos"
    assert result.muscles[0]["title"] == "Psoas"
    by_id = {c.id: c.text for c in result.checks}
    assert by_id[NON_COMPRESSIBLE].startswith(kb.policy(NON_COMPRESSIBLE).explanation.es)


# ------------------------------------------------------------------ bad input

BAD_INPUT: list[tuple[str, Any, str, str]] = [
    ("empty-muscles", {"muscles": []}, "$.muscles", ""),
    ("no-muscles-field", {}, "$.muscles", "required"),
    ("unknown-muscle", session(("muscle.heart", "left")), "$.muscles[0].muscle", "unknown muscle"),
    ("unknown-second-muscle", session(("deltoid", "left"), ("nope", "left")), "$.muscles[1].muscle", "unknown muscle"),
    ("bad-laterality", session(("deltoid", "both")), "$.muscles[0].laterality", ""),
    ("unknown-field", session(("deltoid", "left"), units=2), "$.units", "unknown field"),
    ("unknown-muscle-field", {"muscles": [{"muscle": "deltoid", "laterality": "left", "side": "l"}]}, "$.muscles[0].side", "unknown field"),
    ("bad-payer", session(("deltoid", "left"), payer="aetna"), "$.payer", ""),
    ("bad-language", session(("deltoid", "left"), language="fr"), "$.language", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "where", "says"), [r[1:] for r in BAD_INPUT], ids=[r[0] for r in BAD_INPUT]
)
def test_bad_input(kb: KnowledgeBase, document: Any, where: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        code_session_document(document, kb)
    assert caught.value.where == where
    assert says in caught.value.problem


# ------------------------------------------------------------------ contract


def test_json_contract(kb: KnowledgeBase) -> None:
    document = session(
        ("muscle.upper-trapezius", "bilateral"), ("psoas", "left"), ("deltoid", "right")
    )
    data = code_session_document(document, kb).to_json()
    assert set(data) == {
        "lines",
        "muscles",
        "checks",
        "needs_review",
        "coverage",
        "documentation",
        "language",
        "knowledge",
        "citations",
    }
    (line,) = data["lines"]
    assert line["units"] == 1
    assert line["code"] == "20561"
    assert data["knowledge"]["version"] == kb.version
    cited = {
        s
        for group in ("checks", "coverage", "documentation")
        for n in data[group]
        for s in n["sources"]
    }
    assert cited <= set(data["citations"])
    assert [m["laterality"] for m in data["muscles"]] == ["left+right", "left", "right"]
