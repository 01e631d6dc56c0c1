"""Scope-of-practice data (states.yaml, professions.yaml) against clinical-knowledge.md §4.

The pt status of every state comes from the PPHC list "as of January 2026" (39 states + DC
allowed, 4 not permitted, 7 silent). These tests pin that list, the requirement figures the
notes give, and the rule that only Washington and California carry acupuncturist records.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import ScopeRecord, State

#: The 50 states and DC, as two-letter postal codes.
CODE_LIST = """
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO
MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
"""
ALL_CODES = frozenset(CODE_LIST.split())
NOT_PERMITTED = frozenset({"CA", "HI", "NY", "OR"})
SILENT = frozenset({"CT", "MA", "MI", "MN", "MO", "OK", "PA"})
ALLOWED = ALL_CODES - NOT_PERMITTED - SILENT


def record(state: State, profession: str) -> ScopeRecord | None:
    return next((r for r in state.scope if r.profession == profession), None)


def pt_record(kb: KnowledgeBase, code: str) -> ScopeRecord:
    state = kb.state(code)
    assert state is not None, f"no state {code}"
    found = record(state, "pt")
    assert found is not None, f"{code} has no pt record"
    return found


def requirement_text(kb: KnowledgeBase, code: str, language: str) -> str:
    return " ".join(r.get(language) for r in pt_record(kb, code).requirements)


def test_fifty_states_and_dc_with_unique_codes(kb: KnowledgeBase) -> None:
    codes = [s.code for s in kb.data.states]
    assert len(codes) == 51
    assert len(set(codes)) == 51
    assert set(codes) == ALL_CODES
    assert "DC" in codes


@pytest.mark.parametrize(
    ("code", "en", "es"),
    [
        ("DC", "District of Columbia", "Distrito de Columbia"),
        ("NY", "New York", "Nueva York"),
        ("NC", "North Carolina", "Carolina del Norte"),
        ("WV", "West Virginia", "Virginia Occidental"),
        ("HI", "Hawaii", "Hawái"),
        ("PA", "Pennsylvania", "Pensilvania"),
        ("CO", "Colorado", "Colorado"),
    ],
)
def test_state_titles(kb: KnowledgeBase, code: str, en: str, es: str) -> None:
    state = kb.state(code)
    assert state is not None
    assert (state.id, state.title.en, state.title.es) == (f"state.{code.lower()}", en, es)


def test_every_state_has_a_pt_record(kb: KnowledgeBase) -> None:
    missing = [s.code for s in kb.data.states if record(s, "pt") is None]
    assert missing == []


def test_pt_status_counts(kb: KnowledgeBase) -> None:
    counts = Counter(pt_record(kb, s.code).status for s in kb.data.states)
    assert counts == {"allowed": 40, "not-permitted": 4, "silent": 7}


@pytest.mark.parametrize(
    ("status", "expected"),
    [("not-permitted", NOT_PERMITTED), ("silent", SILENT), ("allowed", ALLOWED)],
)
def test_pt_status_sets(kb: KnowledgeBase, status: str, expected: frozenset[str]) -> None:
    codes = {s.code for s in kb.data.states if pt_record(kb, s.code).status == status}
    assert codes == expected


def test_pt_records_are_dated_to_the_january_2026_list(kb: KnowledgeBase) -> None:
    for state in kb.data.states:
        pt = pt_record(kb, state.code)
        assert pt.as_of == date(2026, 1, 1), state.code
        assert "source.pphc-2026" in pt.sources, state.code


@pytest.mark.parametrize(
    ("code", "en", "es"),
    [
        ("AZ", ["24"], ["24"]),
        ("DE", ["54", "25", "2 years"], ["54", "25", "2 años"]),
        ("FL", ["50", "25", "60 days", "15 days"], ["50", "25", "60 días", "15 días"]),
        ("GA", ["50", "490-9-.05"], ["50", "490-9-.05"]),
        ("MD", ["80", "40"], ["80", "40"]),
        ("TN", ["50", "24", "OSHA", "1 year"], ["50", "24", "OSHA", "1 año"]),
        ("UT", ["250", "3 calendar years", "2 years"], ["250", "3 años", "2 años"]),
        ("VA", ["written referral"], ["por escrito"]),
        ("WA", ["WAC 246-915-390", "June 22 2024"], ["WAC 246-915-390", "22 de junio de 2024"]),
    ],
)
def test_requirement_figures(kb: KnowledgeBase, code: str, en: list[str], es: list[str]) -> None:
    text_en = requirement_text(kb, code, "en")
    text_es = requirement_text(kb, code, "es")
    for fragment in en:
        assert fragment in text_en, f"{code} en lacks {fragment!r}"
    for fragment in es:
        assert fragment in text_es, f"{code} es lacks {fragment!r}"


@pytest.mark.parametrize(
    ("code", "source"),
    [
        ("UT", "source.utah-r156-24b-505"),
        ("WA", "source.wa-2shb-1039"),
        ("WA", "source.wa-wsr-24-11-160"),
        ("TN", "source.tn-hb25"),
    ],
)
def test_requirements_cite_their_own_source(kb: KnowledgeBase, code: str, source: str) -> None:
    pt = pt_record(kb, code)
    assert source in pt.sources
    assert pt.evidence == "verified"


def test_colorado_flags_conflicting_hours(kb: KnowledgeBase) -> None:
    note = pt_record(kb, "CO").note
    assert note is not None
    for figure in ("50", "40", "46"):
        assert figure in note.en
        assert figure in note.es


@pytest.mark.parametrize("code", sorted(NOT_PERMITTED))
def test_not_permitted_states_explain_why(kb: KnowledgeBase, code: str) -> None:
    note = pt_record(kb, code).note
    assert note is not None
    assert note.en
    assert note.es


def test_acupuncturist_records_only_in_washington_and_california(kb: KnowledgeBase) -> None:
    with_record = {s.code for s in kb.data.states if record(s, "acupuncturist") is not None}
    assert with_record == {"WA", "CA"}


@pytest.mark.parametrize(("code", "evidence"), [("WA", "verified"), ("CA", "secondary")])
def test_acupuncturist_records(kb: KnowledgeBase, code: str, evidence: str) -> None:
    state = kb.state(code)
    assert state is not None
    acupuncturist = record(state, "acupuncturist")
    assert acupuncturist is not None
    assert (acupuncturist.status, acupuncturist.evidence) == ("allowed", evidence)


def test_no_physician_records(kb: KnowledgeBase) -> None:
    assert not [s.code for s in kb.data.states if record(s, "physician") is not None]


def test_every_requirement_and_note_has_both_languages(kb: KnowledgeBase) -> None:
    for state in kb.data.states:
        for rec in state.scope:
            texts = [*rec.requirements, *([rec.note] if rec.note else [])]
            for text in texts:
                assert text.en.strip(), f"{state.code}/{rec.profession}: empty en"
                assert text.es.strip(), f"{state.code}/{rec.profession}: empty es"
                assert text.en != text.es, f"{state.code}/{rec.profession}: es not translated"


def test_state_sources_cover_their_records(kb: KnowledgeBase) -> None:
    for state in kb.data.states:
        used = {sid for rec in state.scope for sid in rec.sources}
        assert used <= set(state.sources), state.code


def test_professions(kb: KnowledgeBase) -> None:
    by_code = {p.code: p for p in kb.data.professions}
    assert set(by_code) == {"pt", "acupuncturist", "physician"}
    for code, profession in by_code.items():
        assert profession.id == f"profession.{code}"
        assert profession.note.en
        assert profession.note.es
    assert "200" in by_code["physician"].note.en
    assert "200" in by_code["physician"].note.es
    assert "source.cms-ncd-30-3-3" in by_code["physician"].sources
    assert "source.cms-ncd-30-3-3" in by_code["acupuncturist"].sources
