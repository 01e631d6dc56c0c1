"""Provider scope by state through ``lookup_scope`` (clinical-knowledge.md sections 4.2, 4.3).

Physical-therapist status is the PPHC list "as of January 2026": 39 states + DC allowed,
4 not permitted (CA, HI, NY, OR), 7 silent (CT, MA, MI, MN, MO, OK, PA).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.scope import lookup_scope

PT_TABLE: list[tuple[str, str, bool | None]] = [
    ("CA", "not-permitted", False),
    ("HI", "not-permitted", False),
    ("NY", "not-permitted", False),
    ("OR", "not-permitted", False),
    ("CT", "silent", None),
    ("MA", "silent", None),
    ("MI", "silent", None),
    ("MN", "silent", None),
    ("MO", "silent", None),
    ("OK", "silent", None),
    ("PA", "silent", None),
    ("CO", "allowed", True),
    ("FL", "allowed", True),
    ("UT", "allowed", True),
    ("TN", "allowed", True),
    ("WA", "allowed", True),
    ("DC", "allowed", True),
    ("co", "allowed", True),
]


@pytest.mark.parametrize(
    ("state", "status", "may_perform"), PT_TABLE, ids=[f"{s}-{st}" for s, st, _ in PT_TABLE]
)
def test_pt_status(kb: KnowledgeBase, state: str, status: str, may_perform: bool | None) -> None:
    result = lookup_scope(kb, state, "pt")
    assert result.state == state.upper()
    assert result.status == status
    assert result.may_perform is may_perform
    assert result.as_of == date(2026, 1, 1)
    assert result.sources
    assert set(result.sources) <= set(result.citations)
    assert all(result.citations[s] != s for s in result.sources)  # resolved to a citation


def test_totals_match_the_january_2026_list(kb: KnowledgeBase) -> None:
    counts = Counter(lookup_scope(kb, state.code).status for state in kb.data.states)
    assert counts == {"allowed": 40, "not-permitted": 4, "silent": 7}  # 39 states + DC allowed


REQUIREMENT_ROWS = [("UT", "250"), ("FL", "15")]


@pytest.mark.parametrize(
    ("state", "figure"), REQUIREMENT_ROWS, ids=[s for s, _ in REQUIREMENT_ROWS]
)
def test_requirements_carry_the_figures(kb: KnowledgeBase, state: str, figure: str) -> None:
    result = lookup_scope(kb, state)
    assert any(figure in r for r in result.requirements)


# ------------------------------------------------------------------ other professions

OTHER_ROWS: list[tuple[str, str, str, bool | None]] = [
    ("WA", "acupuncturist", "allowed", True),
    ("TX", "acupuncturist", "unknown", None),
    ("TX", "physician", "unknown", None),
    ("CO", "physician", "unknown", None),
    ("NY", "physician", "unknown", None),
    ("DC", "physician", "unknown", None),
]


@pytest.mark.parametrize(
    ("state", "profession", "status", "may_perform"),
    OTHER_ROWS,
    ids=[f"{s}-{p}" for s, p, _, _ in OTHER_ROWS],
)
def test_other_professions(
    kb: KnowledgeBase, state: str, profession: str, status: str, may_perform: bool | None
) -> None:
    result = lookup_scope(kb, state, profession)
    assert result.profession == profession
    assert result.status == status
    assert result.may_perform is may_perform
    assert result.sources
    assert set(result.sources) <= set(result.citations)
    if status == "unknown":
        assert result.note is not None
        assert kb.policy("policy.scope-unknown").explanation.en in result.note
        assert result.as_of is None
        assert result.requirements == ()


def test_physician_unknown_in_every_state(kb: KnowledgeBase) -> None:
    statuses = {lookup_scope(kb, s.code, "physician").status for s in kb.data.states}
    assert statuses == {"unknown"}


# ------------------------------------------------------------------ language


def test_spanish_state_name(kb: KnowledgeBase) -> None:
    result = lookup_scope(kb, "NY", "pt", "es")
    assert result.state_name == "Nueva York"
    assert result.language == "es"
    assert lookup_scope(kb, "NY").state_name == "New York"


def test_spanish_unknown_note(kb: KnowledgeBase) -> None:
    result = lookup_scope(kb, "TX", "acupuncturist", "es")
    assert result.note is not None
    assert kb.policy("policy.scope-unknown").explanation.es in result.note


# ------------------------------------------------------------------ bad input

BAD_INPUT = [
    ("XX", "pt", "en", "state"),
    ("Colorado", "pt", "en", "state"),
    ("", "pt", "en", "state"),
    ("C", "pt", "en", "state"),
    ("CO", "chiropractor", "en", "profession"),
    ("CO", "PT", "en", "profession"),
    ("CO", "pt", "fr", "language"),
]


@pytest.mark.parametrize(
    ("state", "profession", "language", "where"),
    BAD_INPUT,
    ids=[f"{s or 'empty'}-{p}-{lang}" for s, p, lang, _ in BAD_INPUT],
)
def test_bad_input(
    kb: KnowledgeBase, state: str, profession: str, language: str, where: str
) -> None:
    with pytest.raises(InputError) as caught:
        lookup_scope(kb, state, profession, language)
    assert caught.value.where == where


def test_json_contract(kb: KnowledgeBase) -> None:
    data = lookup_scope(kb, "UT").to_json()
    assert set(data) == {
        "state",
        "state_name",
        "profession",
        "profession_name",
        "status",
        "may_perform",
        "requirements",
        "note",
        "as_of",
        "sources",
        "evidence",
        "language",
        "knowledge",
        "citations",
    }
    assert data["as_of"] == "2026-01-01"
    assert data["state_name"] == "Utah"
