"""Outcome scoring and MCID judgements (domain/outcomes.py), measure by measure.

Scoring methods from measures.yaml (clinical-knowledge.md §7): NPRS one 0-10 whole
number; PSFS 3-5 patient-named activities 0-10, mean; NDI 10 sections 0-5 summed (x2
percent); ODI 10 sections 0-5, sum / (5 x answered) x 100 with at most 2 skipped. Each
MCID is judged on its own (population, source), in its own unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from needlewise.domain.outcomes import (
    Item,
    function_measures,
    improvement,
    is_measuring_session,
    judge,
    score,
)
from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Measure

NDI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "reading", "headaches",
    "concentration", "work", "driving", "sleeping", "recreation",
]  # fmt: skip
ODI_KEYS = [
    "pain-intensity", "personal-care", "lifting", "walking", "sitting",
    "standing", "sleeping", "sex-life", "social-life", "travelling",
]  # fmt: skip


def _measure(kb: KnowledgeBase, measure_id: str) -> Measure:
    found = kb.measure(measure_id)
    assert found is not None, measure_id
    return found


def _sections(keys: list[str], scores: Sequence[int | None]) -> list[Item]:
    return [Item(s, key) for key, s in zip(keys, scores, strict=True)]


# ---------------------------------------------------------------- scoring, per measure

SCORED = [
    ("measure.nprs", [Item(0)], 0.0, None),
    ("measure.nprs", [Item(10)], 10.0, None),
    ("measure.psfs", [Item(3, name="stairs"), Item(4, name="lifting a child"), Item(8, name="typing")], 5.0, None),
    ("measure.psfs", [Item(2, name="a"), Item(3, name="b"), Item(3, name="c"), Item(4, name="d"), Item(5, name="e")], 3.4, None),
    ("measure.ndi", _sections(NDI_KEYS, [0] * 10), 0.0, 0.0),
    ("measure.ndi", _sections(NDI_KEYS, [5] * 10), 50.0, 100.0),
    ("measure.ndi", _sections(NDI_KEYS, [1, 2, 3, 0, 1, 2, 3, 0, 1, 2]), 15.0, 30.0),
    ("measure.odi", _sections(ODI_KEYS, [2] * 10), 40.0, None),
    ("measure.odi", _sections(ODI_KEYS, [5] * 10), 100.0, None),
    # one section skipped: 18 / (5 x 9) x 100 = 40
    ("measure.odi", _sections(ODI_KEYS, [2, 2, 2, 2, 2, 2, 2, None, 2, 2]), 40.0, None),
    # two skipped (the most allowed): 16 / (5 x 8) x 100 = 40
    ("measure.odi", _sections(ODI_KEYS[:8], [2] * 8), 40.0, None),
]  # fmt: skip


@pytest.mark.parametrize(("measure_id", "items", "expected", "percent"), SCORED)
def test_score(
    kb: KnowledgeBase,
    measure_id: str,
    items: list[Item],
    expected: float,
    percent: float | None,
) -> None:
    scored = score(_measure(kb, measure_id), items)
    assert scored.score == pytest.approx(expected)
    assert scored.percent == (pytest.approx(percent) if percent is not None else None)


REFUSED = [
    ("measure.nprs", [Item(11)], "$.items[0].score", "from 0 to 10"),
    ("measure.nprs", [Item(-1)], "$.items[0].score", "from 0 to 10"),
    ("measure.nprs", [Item(None)], "$.items[0].score", "score is needed"),
    ("measure.nprs", [Item(3), Item(4)], "$.items", "takes 1"),
    ("measure.nprs", [Item(3, key="pain-intensity")], "$.items[0].key", "no section"),
    ("measure.psfs", [Item(3, name="a"), Item(4, name="b")], "$.items", "3 to 5"),
    ("measure.psfs", [Item(3, name=f"a{i}") for i in range(6)], "$.items", "3 to 5"),
    ("measure.psfs", [Item(3, name="a"), Item(4, name=" "), Item(5, name="c")], "$.items[1].name", "name the activity"),
    ("measure.psfs", [Item(3, name="Stairs"), Item(4, name="stairs"), Item(5, name="c")], "$.items[1].name", "twice"),
    ("measure.psfs", [Item(3, name="a"), Item(11, name="b"), Item(5, name="c")], "$.items[1].score", "from 0 to 10"),
    ("measure.psfs", [Item(3, name="a" * 121), Item(4, name="b"), Item(5, name="c")], "$.items[0].name", "120"),
    ("measure.ndi", _sections(NDI_KEYS[:9], [1] * 9), "$.items", "every section"),
    ("measure.ndi", _sections(NDI_KEYS, [1] * 9 + [None]), "$.items", "every section"),
    ("measure.ndi", _sections(NDI_KEYS, [1] * 9 + [6]), "$.items[9].score", "from 0 to 5"),
    ("measure.ndi", [*_sections(NDI_KEYS, [1] * 10), Item(1, "walking")], "$.items[10].key", "not a NDI section"),
    ("measure.ndi", [*_sections(NDI_KEYS, [1] * 10), Item(1, "work")], "$.items[10].key", "twice"),
    ("measure.odi", _sections(ODI_KEYS[:7], [1] * 7), "$.items", "at least 8 of its 10"),
    ("measure.odi", _sections(ODI_KEYS, [1] * 7 + [None] * 3), "$.items", "at least 8 of its 10"),
    ("measure.odi", [Item(1, "pain-intensity", name="x")], "$.items[0].name", "no name"),
    ("measure.dash", [Item(1)], "$.measure", "not scored"),
]  # fmt: skip


@pytest.mark.parametrize(("measure_id", "items", "where", "problem"), REFUSED)
def test_refused(
    kb: KnowledgeBase, measure_id: str, items: list[Item], where: str, problem: str
) -> None:
    with pytest.raises(InputError) as raised:
        score(_measure(kb, measure_id), items)
    assert raised.value.where == where
    assert problem in raised.value.problem


def test_the_psfs_keeps_the_activity_names_tidied(kb: KnowledgeBase) -> None:
    scored = score(
        _measure(kb, "measure.psfs"),
        [Item(3, name="  climbing   stairs "), Item(4, name="b"), Item(5, name="c")],
    )
    assert scored.items_json()["items"] == [
        {"name": "climbing stairs", "score": 3},
        {"name": "b", "score": 4},
        {"name": "c", "score": 5},
    ]


def test_a_skipped_odi_section_is_kept_as_skipped(kb: KnowledgeBase) -> None:
    scored = score(_measure(kb, "measure.odi"), _sections(ODI_KEYS[:9], [1] * 9))
    stored = scored.items_json()
    assert stored["answered"] == 9
    assert {"key": "travelling", "score": None} in stored["items"]  # type: ignore[operator]


# ---------------------------------------------------------------- MCIDs, one row each

#: (measure, MCID source, baseline, follow-up, expected verdict)
JUDGED = [
    # NPRS (points, lower is better)
    ("measure.nprs", "source.cleland-2008", 6, 4, "improved"),  # 2 >= 1.3
    ("measure.nprs", "source.cleland-2008", 6, 5, "within"),  # 1 < 1.3
    ("measure.nprs", "source.cleland-2008", 4, 6, "worse"),
    ("measure.nprs", "source.kovacs-2008", 6, 4, "improved"),  # 2 >= 1.5
    ("measure.nprs", "source.kovacs-2008", 6, 5, "within"),
    ("measure.nprs", "source.suzuki-2020", 6, 4, "improved"),  # 2 >= 2 (reaching it counts)
    ("measure.nprs", "source.suzuki-2020", 6, 5, "within"),
    ("measure.nprs", "source.suzuki-2020", 3, 5, "worse"),
    ("measure.nprs", "source.piva-2009", 6, 4, "improved"),
    ("measure.nprs", "source.piva-2009", 6, 5, "within"),  # 1 < 1.16
    # PSFS (points, higher is better)
    ("measure.psfs", "source.rysstad-2020", 3.0, 5.0, "improved"),
    ("measure.psfs", "source.rysstad-2020", 3.0, 4.8, "within"),
    ("measure.psfs", "source.rysstad-2020", 5.0, 3.0, "worse"),
    # NDI: 7.5 points; 19 percentage points = 9.5 of 50 points
    ("measure.ndi", "source.ndi-responsiveness", 20, 12, "improved"),  # 8 >= 7.5
    ("measure.ndi", "source.ndi-responsiveness", 20, 13, "within"),  # 7
    ("measure.ndi", "source.ndi-responsiveness", 12, 20, "worse"),
    ("measure.ndi", "source.cleland-2008", 20, 12, "within"),  # 16 percentage points
    ("measure.ndi", "source.cleland-2008", 20, 10, "improved"),  # 20 percentage points
    ("measure.ndi", "source.cleland-2008", 10, 20, "worse"),
    # ODI: 18 percent of the baseline (relative)
    ("measure.odi", "source.mannion-2005", 50, 41, "improved"),  # 18 percent
    ("measure.odi", "source.mannion-2005", 50, 42, "within"),  # 16 percent
    ("measure.odi", "source.mannion-2005", 20, 15, "improved"),  # 25 percent, 5 points
    ("measure.odi", "source.mannion-2005", 50, 60, "worse"),  # -20 percent
    ("measure.odi", "source.mannion-2005", 0, 10, "not-judged"),  # no relative change of 0
]


@pytest.mark.parametrize(("measure_id", "source", "baseline", "current", "verdict"), JUDGED)
def test_mcid(
    kb: KnowledgeBase,
    measure_id: str,
    source: str,
    baseline: float,
    current: float,
    verdict: str,
) -> None:
    judgements = judge(_measure(kb, measure_id), baseline, current)
    found = [j for j in judgements if j.mcid.source == source]
    assert len(found) == 1, (measure_id, source)
    assert found[0].verdict == verdict


def test_every_stored_mcid_of_a_scored_measure_is_in_the_table(kb: KnowledgeBase) -> None:
    tested = {(m, s) for m, s, *_ in JUDGED}
    for measure in kb.data.measures:
        if measure.method is not None:
            for mcid in measure.mcids:
                assert (measure.id, mcid.source) in tested, (measure.id, mcid.source)


def test_one_judgement_per_mcid_with_its_population(kb: KnowledgeBase) -> None:
    nprs = _measure(kb, "measure.nprs")
    judgements = judge(nprs, 7, 5)
    assert [j.mcid for j in judgements] == nprs.mcids
    assert {j.verdict for j in judgements} == {"improved"}
    assert all(j.mcid.population.en for j in judgements)


@pytest.mark.parametrize(
    ("measure_id", "baseline", "current", "unit", "expected"),
    [
        ("measure.ndi", 20, 10, "percentage-points", 20.0),
        ("measure.ndi", 20, 10, "points", 10.0),
        ("measure.odi", 40, 30, "percent", 25.0),
        ("measure.psfs", 4, 6, "points", 2.0),
        ("measure.nprs", 4, 6, "points", -2.0),
    ],
)
def test_improvement_units(
    kb: KnowledgeBase, measure_id: str, baseline: float, current: float, unit: str, expected: float
) -> None:
    assert improvement(_measure(kb, measure_id), baseline, current, unit) == pytest.approx(expected)


# ---------------------------------------------------------------- which questionnaire, when

CHOSEN = [
    (["region.neck"], ["measure.ndi"]),
    (["region.lower-back"], ["measure.odi"]),
    (["region.shoulder"], ["measure.psfs"]),
    (["region.thigh-knee", "region.shoulder"], ["measure.psfs"]),
    (["region.neck", "region.shoulder"], ["measure.ndi", "measure.psfs"]),
    (["region.lower-back", "region.neck"], ["measure.odi", "measure.ndi"]),
    ([], []),
]


@pytest.mark.parametrize(("regions", "expected"), CHOSEN)
def test_function_measure_by_region(
    kb: KnowledgeBase, regions: list[str], expected: list[str]
) -> None:
    assert function_measures(kb.data.function_measures, regions) == expected


def test_the_choice_is_a_design_decision_with_sources(kb: KnowledgeBase) -> None:
    choice = kb.data.function_measures
    assert choice.evidence == "design"
    assert choice.fallback == "measure.psfs"
    assert "source.wright-2012" in choice.sources


@pytest.mark.parametrize(
    ("ordinal", "every", "expected"),
    [(1, 4, True), (2, 4, False), (4, 4, False), (5, 4, True), (9, 4, True), (3, 1, True)],
)
def test_measuring_sessions(ordinal: int, every: int, expected: bool) -> None:
    assert is_measuring_session(ordinal, every) is expected


def test_no_instrument_text_is_stored(kb: KnowledgeBase) -> None:
    """Only our short section names: no NDI/ODI question or answer wording."""
    for measure_id in ("measure.ndi", "measure.odi"):
        method = _measure(kb, measure_id).method
        assert method is not None
        assert len(method.sections) == 10
        for section in method.sections:
            for text in (section.title.en, section.title.es):
                assert len(text.split()) <= 3, text
