"""Reference data: risks, outcome measures, indications and billing.

These tests pin the facts of clinical-knowledge.md §2, §5, §6.1 and §7 and the source
page's lists, so that an edit to the YAML that drops a risk, adds a non-billable
ICD-10-CM code or shifts a billing range fails loudly.
"""

from __future__ import annotations

import math
import warnings
from typing import TypeVar

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import (
    ICD10CM,
    LOINC,
    BillingCode,
    CoverageNote,
    Indication,
    Risk,
    Source,
)

with warnings.catch_warnings():
    # simple-icd-10-cm 1.5.0 reads its bundled CMS file with the deprecated
    # importlib.resources.read_text at import time; pytest turns that warning into an error.
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10_cm as cm

# ---------------------------------------------------------------- indications (§6.1)

#: Every ICD-10-CM code of clinical-knowledge.md §6.1, by indication id.
EXPECTED_ICD10CM: dict[str, set[str]] = {
    "indication.neck-pain": {"M54.2", "G89.29"},
    "indication.low-back-pain": {"M54.50", "M54.51", "M54.59"},
    "indication.plantar-fasciitis": {"M72.2"},
    "indication.knee-osteoarthritis": {"M17.0", "M17.10", "M17.11", "M17.12", "M17.9"},
    "indication.carpal-tunnel": {"G56.00", "G56.01", "G56.02", "G56.03"},
    "indication.tmj-disorder": {
        "M26.601",
        "M26.602",
        "M26.603",
        "M26.609",
        "M26.621",
        "M26.622",
        "M26.623",
        "M26.629",
        "M26.631",
        "M26.632",
        "M26.633",
        "M26.639",
    },
    "indication.post-stroke-muscle-tightness": {
        "I69.351",
        "I69.352",
        "I69.353",
        "I69.354",
        "I69.359",
        "I69.398",
        "M62.838",
        "R25.2",
    },
    "indication.nausea": {"R11.0", "R11.2"},
    "indication.migraine": {"G43.909", "G43.709"},
    "indication.tension-headache": {"G44.209", "G44.219", "G44.229"},
    "indication.myofascial-pain": {"M79.10", "M79.11", "M79.12", "M79.18"},
}

T = TypeVar("T")

ALL_EXPECTED_CODES = sorted({code for codes in EXPECTED_ICD10CM.values() for code in codes})

#: The source page's "why it is done" list -> the indication that covers it.
SOURCE_PAGE_INDICATIONS: dict[str, str] = {
    "chronic neck pain": "indication.neck-pain",
    "low back pain": "indication.low-back-pain",
    "plantar fasciitis": "indication.plantar-fasciitis",
    "knee osteoarthritis": "indication.knee-osteoarthritis",
    "carpal tunnel syndrome": "indication.carpal-tunnel",
    "temporomandibular joint disorder": "indication.tmj-disorder",
    "tense muscles after stroke": "indication.post-stroke-muscle-tightness",
    "nausea": "indication.nausea",
    "migraine": "indication.migraine",
    "tension headaches": "indication.tension-headache",
}


def _item(kb: KnowledgeBase, item_id: str, kind: type[T]) -> T:
    item = kb.get(item_id)
    assert isinstance(item, kind), f"missing {item_id} ({kind.__name__})"
    return item


def _icd_codes(kb: KnowledgeBase) -> dict[str, set[str]]:
    return {
        ind.id: {c.code for c in ind.codes if c.system == ICD10CM} for ind in kb.data.indications
    }


@pytest.mark.parametrize("code", ALL_EXPECTED_CODES)
def test_expected_code_is_billable_and_stored(kb: KnowledgeBase, code: str) -> None:
    assert cm.is_valid_item(code), f"{code} is not in the ICD-10-CM tabular file"
    assert cm.is_leaf(code), f"{code} has subcodes, so it cannot be billed"
    stored = {c for codes in _icd_codes(kb).values() for c in codes}
    assert code in stored


def test_indication_codes_are_exactly_those_of_the_notes(kb: KnowledgeBase) -> None:
    stored = _icd_codes(kb)
    for indication_id, codes in EXPECTED_ICD10CM.items():
        assert stored.get(indication_id) == codes, indication_id


def test_every_stored_icd_code_is_billable_with_its_official_display(kb: KnowledgeBase) -> None:
    for indication in kb.data.indications:
        for coding in indication.codes:
            assert coding.system == ICD10CM, indication.id
            assert cm.is_valid_item(coding.code), coding.code
            assert cm.is_leaf(coding.code), coding.code
            assert coding.display == cm.get_description(coding.code), coding.code
            assert coding.verified, coding.code
            assert coding.match == "exact", coding.code


@pytest.mark.parametrize("parent", ["M54.5", "M79.1"])
def test_non_billable_parents_are_absent(kb: KnowledgeBase, parent: str) -> None:
    assert not cm.is_leaf(parent)
    stored = {c for codes in _icd_codes(kb).values() for c in codes}
    assert parent not in stored


@pytest.mark.parametrize(("listed", "indication_id"), SOURCE_PAGE_INDICATIONS.items())
def test_source_page_indication_present(kb: KnowledgeBase, listed: str, indication_id: str) -> None:
    indication = _item(kb, indication_id, Indication)
    assert "source.source-page" in indication.sources, f"source page lists {listed!r}"


def test_gap_notes_on_stroke_and_myofascial(kb: KnowledgeBase) -> None:
    stroke = _item(kb, "indication.post-stroke-muscle-tightness", Indication)
    myofascial = _item(kb, "indication.myofascial-pain", Indication)
    assert stroke.note is not None
    assert "no code" in stroke.note.en
    assert myofascial.note is not None
    assert "not checked" in myofascial.note.en


# ---------------------------------------------------------------- risks (§2)

#: The source page's risk list -> the risks that cover it.
SOURCE_PAGE_RISKS: dict[str, tuple[str, ...]] = {
    "bleeding": ("risk.bleeding",),
    "bruising": ("risk.bruising",),
    "pain at and around an insertion site": ("risk.pain-during", "risk.pain-after"),
    "anxiety or fainting": ("risk.anxiety", "risk.fainting"),
    "infection": ("risk.infection",),
    "hematoma": ("risk.hematoma",),
    "pneumothorax": ("risk.pneumothorax",),
    "injury to nerves or blood vessels": ("risk.nerve-or-vessel-injury",),
}

#: Brady 2014 breakdown: id -> (percent of 7,629 treatments, Brady's category).
BRADY: dict[str, tuple[float, str]] = {
    "risk.bruising": (7.55, "common"),
    "risk.bleeding": (4.65, "common"),
    "risk.pain-during": (3.01, "common"),
    "risk.pain-after": (2.19, "common"),
    "risk.aggravation": (0.88, "uncommon"),
    # issue 8: common, from the figure patients feel (MacPherson 2005, 1 in 4), not Brady's
    "risk.drowsiness": (0.26, "common"),
    "risk.headache": (0.14, "uncommon"),
    "risk.nausea": (0.13, "uncommon"),
    "risk.fatigue": (0.04, "rare"),
    "risk.altered-emotions": (0.04, "rare"),
    "risk.other-rare-reactions": (0.01, "rare"),
}


def _risk(kb: KnowledgeBase, risk_id: str) -> Risk:
    return _item(kb, risk_id, Risk)


@pytest.mark.parametrize(("listed", "risk_ids"), SOURCE_PAGE_RISKS.items())
def test_source_page_risk_present(kb: KnowledgeBase, listed: str, risk_ids: tuple[str]) -> None:
    for risk_id in risk_ids:
        risk = _risk(kb, risk_id)
        assert "source.source-page" in risk.sources, f"{risk_id} covers {listed!r}"


@pytest.mark.parametrize(("risk_id", "expected"), BRADY.items())
def test_brady_breakdown(kb: KnowledgeBase, risk_id: str, expected: tuple[float, str]) -> None:
    value, category = expected
    risk = _risk(kb, risk_id)
    assert risk.category == category
    brady = [i for i in risk.incidence if i.source == "source.brady-2014"]
    assert len(brady) == 1
    assert brady[0].value == value
    assert brady[0].per == "treatments"
    assert brady[0].denominator == 7629


def test_overall_minor_event_figures(kb: KnowledgeBase) -> None:
    risk = _risk(kb, "risk.any-minor-event")
    by_source = {i.source: i for i in risk.incidence}
    brady, boyce = by_source["source.brady-2014"], by_source["source.boyce-2020"]
    assert (brady.value, brady.numerator, brady.denominator) == (19.18, 1463, 7629)
    assert (boyce.value, boyce.numerator, boyce.per) == (36.7, 7531, "sessions")
    assert boyce.note is not None
    assert "20,494" in boyce.note


def test_major_event_figures(kb: KnowledgeBase) -> None:
    risk = _risk(kb, "risk.major-event")
    assert risk.category == "serious"
    by_source = {i.source: i for i in risk.incidence}
    boyce, brady = by_source["source.boyce-2020"], by_source["source.brady-2014"]
    assert boyce.numerator == 20
    assert boyce.value < 0.1
    assert math.isclose(100 / boyce.value, 1024, rel_tol=0.01)  # "1 per 1,024"
    assert brady.numerator == 0
    assert brady.upper_bound
    assert brady.value == 0.04


def test_boyce_common_events(kb: KnowledgeBase) -> None:
    expected = {"risk.bleeding": 16, "risk.bruising": 7.7, "risk.pain-during": 5.9}
    for risk_id, value in expected.items():
        figures = [i for i in _risk(kb, risk_id).incidence if i.source == "source.boyce-2020"]
        assert [i.value for i in figures] == [value], risk_id


def test_pneumothorax_figures(kb: KnowledgeBase) -> None:
    risk = _risk(kb, "risk.pneumothorax")
    assert risk.category == "serious"
    witt = next(i for i in risk.incidence if i.source == "source.witt-2009")
    assert (witt.numerator, witt.denominator, witt.per) == (2, 229230, "patients")
    brady = next(i for i in risk.incidence if i.source == "source.brady-2014")
    assert (brady.value, brady.numerator) == (0, 0)
    assert risk.gaps is not None
    assert "100,000" in risk.gaps


def test_percent_matches_numerator_and_denominator(kb: KnowledgeBase) -> None:
    for risk in kb.data.risks:
        for figure in risk.incidence:
            if figure.upper_bound or figure.numerator is None or figure.denominator is None:
                continue
            computed = 100 * figure.numerator / figure.denominator
            # 2 % relative slack covers published rounding (Boyce 36.7 vs 36.8).
            assert math.isclose(figure.value, computed, rel_tol=0.02, abs_tol=1e-9), (
                f"{risk.id} / {figure.source}: {figure.value} vs {computed:.4f}"
            )


def test_risks_without_figures_say_why(kb: KnowledgeBase) -> None:
    for risk in kb.data.risks:
        if not risk.incidence:
            assert risk.gaps, f"{risk.id} has no incidence and no gaps note"


# ---------------------------------------------------------------- billing (§5)


def _code_for(codes: list[BillingCode], muscles: int) -> str | None:
    for billing in codes:
        if muscles >= billing.min_muscles and (
            billing.max_muscles is None or muscles <= billing.max_muscles
        ):
            return billing.code.code
    return None


@pytest.mark.parametrize(
    ("muscles", "cpt"), [(0, None), (1, "20560"), (2, "20560"), (3, "20561"), (12, "20561")]
)
def test_cpt_by_muscle_count(kb: KnowledgeBase, muscles: int, cpt: str | None) -> None:
    assert _code_for(kb.data.billing.codes, muscles) == cpt


def test_cpt_codes_effective_2020(kb: KnowledgeBase) -> None:
    assert {c.code.code: c.effective.isoformat() for c in kb.data.billing.codes} == {
        "20560": "2020-01-01",
        "20561": "2020-01-01",
    }


def test_ncd_limits(kb: KnowledgeBase) -> None:
    ncd = kb.data.billing.ncd
    assert ncd.id == "coverage.ncd-30-3-3"
    assert ncd.effective.isoformat() == "2020-01-21"
    assert (ncd.initial_visits, ncd.initial_window_days) == (12, 90)
    assert ncd.additional_visits_if_improving == 8
    assert ncd.annual_max == 20
    assert ncd.min_duration_weeks == 12
    assert "2024" in ncd.pending_changes.en
    assert "2026" in ncd.pending_changes.en


def test_coverage_covers_each_payer_kind(kb: KnowledgeBase) -> None:
    payers = {note.payer for note in kb.data.billing.coverage}
    assert payers == {"medicare", "commercial", "workers-comp", "military", "any"}


def test_unconfirmed_coding_rules_are_flagged(kb: KnowledgeBase) -> None:
    for note_id in ("coverage.once-per-session", "coverage.bilateral-muscles"):
        assert _item(kb, note_id, CoverageNote).evidence == "unverified", note_id
    pt_reading = _item(kb, "coverage.medicare-ncd-pt-not-eligible", CoverageNote)
    assert pt_reading.evidence == "design"


# ---------------------------------------------------------------- measures (§7)

#: id -> (min, max, higher_is_worse)
CORE_MEASURES: dict[str, tuple[float, float, bool]] = {
    "measure.nprs": (0, 10, True),
    "measure.psfs": (0, 10, False),
    "measure.ndi": (0, 50, True),
    "measure.odi": (0, 100, True),
}


@pytest.mark.parametrize(("measure_id", "expected"), CORE_MEASURES.items())
def test_core_measure(
    kb: KnowledgeBase, measure_id: str, expected: tuple[float, float, bool]
) -> None:
    measure = next((m for m in kb.data.measures if m.id == measure_id), None)
    assert measure is not None, measure_id
    assert (measure.min_score, measure.max_score, measure.higher_is_worse) == expected
    assert measure.mcids, f"{measure_id} has no MCID"
    for mcid in measure.mcids:
        assert isinstance(kb.get(mcid.source), Source), mcid.source


def test_named_mcids(kb: KnowledgeBase) -> None:
    found = {
        (m.id, mcid.source, mcid.value, mcid.unit) for m in kb.data.measures for mcid in m.mcids
    }
    for expected in [
        ("measure.nprs", "source.cleland-2008", 1.3, "points"),
        ("measure.nprs", "source.kovacs-2008", 1.5, "points"),
        ("measure.nprs", "source.suzuki-2020", 2, "points"),
        ("measure.nprs", "source.piva-2009", 1.16, "points"),
        ("measure.ndi", "source.ndi-responsiveness", 7.5, "points"),
        ("measure.ndi", "source.cleland-2008", 19, "percentage-points"),
        ("measure.odi", "source.mannion-2005", 18, "percent"),
        ("measure.psfs", "source.rysstad-2020", 2.0, "points"),
    ]:
        assert expected in found, expected


def test_nprs_loinc_is_marked_unverified(kb: KnowledgeBase) -> None:
    nprs = next(m for m in kb.data.measures if m.id == "measure.nprs")
    assert nprs.loinc is not None
    assert (nprs.loinc.system, nprs.loinc.code) == (LOINC, "72514-3")
    assert not nprs.loinc.verified
