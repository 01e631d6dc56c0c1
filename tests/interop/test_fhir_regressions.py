"""Regressions found in review: each test names the problem it guards against."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.stateless_screening import screen_document

V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
JSON = dict[str, Any]


def bundle(*resources: JSON) -> JSON:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def platelets(flag: JSON) -> JSON:
    return {
        "resourceType": "Observation",
        "id": "plt-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
        "interpretation": [{"coding": [flag]}],
    }


@pytest.mark.parametrize(
    ("flag", "fires"),
    [
        ({"system": V3, "code": "LL"}, True),
        ({"code": "LL"}, True),  # no system: still the lab's flag; ignoring it would miss a finding
        ({"code": "N"}, False),
        (
            {"system": "http://example.org/local-flags", "code": "LL"},
            False,
        ),  # unknown system: not ours to read
    ],
    ids=["v3-LL", "LL-without-system", "N-without-system", "LL-in-a-local-system"],
)
def test_lab_flag_without_system_still_fires_bleeding_rule(
    kb: KnowledgeBase, flag: JSON, fires: bool
) -> None:
    result = screen_document(bundle(platelets(flag)), kb, as_of=date(2026, 11, 26))
    fired = {f.rule for f in result.findings}
    assert ("contraindication.bleeding-disorder" in fired) is fires


def test_partial_birth_date_is_shown_as_recorded(kb: KnowledgeBase) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "2012"}
    result = screen_document(bundle(patient), kb, as_of=date(2026, 11, 26))
    child = next(f for f in result.findings if f.rule == "contraindication.child")
    assert "birthDate 2012 (read as 2012-12-31, the latest day it can mean)" in child.evidence[0]


def test_two_patients_error_names_the_first_conflicting_reference(kb: KnowledgeBase) -> None:
    conditions = [
        {
            "resourceType": "Condition",
            "id": f"c{i}",
            "subject": {"reference": "Patient/a" if i < 11 else "Patient/b"},
            "code": {"text": "note"},
        }
        for i in range(12)
    ]
    with pytest.raises(InputError) as caught:
        screen_document(bundle(*conditions), kb, as_of=date(2026, 11, 26))
    assert caught.value.where == "$.entry[11].resource.subject.reference"
