"""Numeric Observation thresholds (none is sourced today; the engine must still honour
one the moment a source gives it). Uses a copy of the knowledge with a threshold added."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.loader import load
from needlewise.services.stateless_screening import screen_document
from support import copy_knowledge

DATA = Path(__file__).resolve().parents[2] / "src/needlewise/knowledge/data"


@pytest.fixture(scope="module")
def kb_threshold(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    folder = copy_knowledge(tmp_path_factory.mktemp("kb"))
    target = folder / "contraindications.yaml"
    text = target.read_text()
    anchor = (
        '          fire_interpretations: [H, HH, HU, A, AA]\n          note: "As for 6301-6."\n'
    )
    assert anchor in text
    threshold = '          threshold: {comparator: ">=", value: 3.0, unit: "{INR}", sources: [source.clinical-knowledge-design]}\n'
    target.write_text(text.replace(anchor, anchor + threshold))
    return load(None, data_dir=folder)


def inr(value: float, unit: str | None) -> dict[str, Any]:
    quantity = {"value": value} | ({"code": unit} if unit else {})
    observation = {
        "resourceType": "Observation",
        "id": "inr-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "34714-6"}]},
        "valueQuantity": quantity,
    }
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}


@pytest.mark.parametrize(
    ("value", "unit", "certainty"),
    [
        (3.0, "{INR}", "present"),
        (3.4, "{INR}", "present"),
        (2.9, "{INR}", None),
        (3.5, "mg", "possible"),
        (3.5, None, "possible"),
    ],
    ids=["at-threshold", "above", "below", "other-unit-is-unclear", "no-unit-is-unclear"],
)
def test_threshold_fires_inclusively_and_unclear_units_escalate(
    kb_threshold: KnowledgeBase, value: float, unit: str | None, certainty: str | None
) -> None:
    result = screen_document(inr(value, unit), kb_threshold, as_of=date(2026, 11, 26))
    finding = next(
        (f for f in result.findings if f.rule == "contraindication.bleeding-disorder"), None
    )
    assert (finding.certainty if finding else None) == certainty


def test_without_a_threshold_a_plain_number_fires_nothing(kb: KnowledgeBase) -> None:
    result = screen_document(inr(9.0, "{INR}"), kb, as_of=date(2026, 11, 26))
    assert all(f.rule != "contraindication.bleeding-disorder" for f in result.findings)
