"""The public 10-patient Bulk Data sample (conformance folder) screened end to end.

Expected findings are read from the NDJSON files by hand, never computed by the test:

* Patient/3af3708d…: active Condition eec69cf4… SNOMED CT 128613002 "Seizure disorder"
  (in VSAC Seizure Disorder 105.12.1206) -> epilepsy;
* Patient/63ee2253…: birthDate 2011-03-23, 15 on 2026-11-26 -> child;
* Patient/79a66c97…: active MedicationRequest 93e2c988… "24 HR tacrolimus 1 MG" ->
  immunocompromised; active type 2 diabetes and its kidney complications -> diabetes;
* Patient/129c6ac7…: active non-small cell lung cancer Conditions -> malignancy;
* the others: nothing fires (the 2007-07-11 patient is 19; the aspirin *allergy* of
  Patient/cbc86e51… is no rule). No intake answers exist, so every patient is ``review``.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.bulk.run import bulk_screen

pytestmark = pytest.mark.conformance

AS_OF = date(2026, 11, 26)
Sample = tuple[list[dict[str, Any]], dict[str, Any]]
EXPECTED: dict[str, dict[str, list[str]]] = {
    "Patient/3af3708d-41f1-cd80-f3dd-ec5ac76072bf": {
        "contraindication.epilepsy": ["Condition/eec69cf4-b1c4-70ee-adbb-af25c3289d24"],
    },
    "Patient/63ee2253-bdd5-da55-2ad2-b4984d0ad700": {
        "contraindication.child": ["birthDate 2011-03-23: age 15 on 2026-11-26"],
    },
    "Patient/79a66c97-6131-3213-f3c9-4606946ab056": {
        "contraindication.immunocompromised": [
            "MedicationRequest/93e2c988-e3a5-5a8b-5345-ef3a02d95b89"
        ],
        "contraindication.diabetes": ["Condition/5e29e62c-0751-c36e-7308-ccd940301135"],
    },
    "Patient/129c6ac7-8d06-89de-ad63-0204a93e76c3": {
        "contraindication.malignancy": ["Condition/0c46bc9f-a5e2-193f-9d7c-cb66c9cd5ef6"],
    },
}


@pytest.fixture(scope="module")
def sample(conformance_dir: Path, kb: KnowledgeBase) -> Sample:
    out = io.BytesIO()
    summary = bulk_screen(conformance_dir / "bulk-ndjson", kb, out, as_of=AS_OF)
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    return lines, summary.to_json()


def test_every_patient_once_in_reference_order(sample: Sample) -> None:
    lines, summary = sample
    references = [line["patient"] for line in lines]
    assert len(references) == 13 == summary["patients"]
    assert references == sorted(set(references))
    assert all(r.startswith("Patient/") for r in references)


@pytest.mark.parametrize("reference", list(EXPECTED))
def test_sample_patient_findings(sample: Sample, reference: str) -> None:
    line = next(line for line in sample[0] if line["patient"] == reference)
    rules = {f["rule"]: f for f in line["findings"]}
    assert set(rules) == set(EXPECTED[reference])
    for rule, words in EXPECTED[reference].items():
        evidence = " ".join(rules[rule]["evidence"])
        assert all(word in evidence for word in words), evidence
        assert rules[rule]["certainty"] == "present"
    assert line["decision"] == "review"


def test_no_answers_means_review_with_unanswered(sample: Sample, kb: KnowledgeBase) -> None:
    lines, summary = sample
    quiet = [line for line in lines if line["patient"] not in EXPECTED]
    assert len(quiet) == 9
    assert all(line["findings"] == [] for line in quiet)
    for line in lines:
        assert line["decision"] == "review"  # escalated: nothing was answered
        assert "contraindication.needle-fear" in line["unanswered"]
        assert "contraindication.child" not in line["unanswered"]  # every Patient has a birthDate
        assert line["knowledge"]["sha256"] == kb.sha256
        assert line["knowledge"]["version"] == kb.version
    assert summary["decisions"] == {"eligible": 0, "review": 13, "not-eligible": 0}


def test_sample_summary(sample: Sample) -> None:
    summary = sample[1]
    assert summary["rules"] == {
        "contraindication.child": 1,
        "contraindication.diabetes": 1,
        "contraindication.epilepsy": 1,
        "contraindication.immunocompromised": 1,
        "contraindication.malignancy": 1,
    }
    assert {f["name"]: f["lines"] for f in summary["files"]} == {
        "AllergyIntolerance.000.ndjson": 11,
        "Condition.000.ndjson": 555,
        "MedicationRequest.000.ndjson": 1745,
        "Patient.000.ndjson": 13,
    }
    assert summary["files_not_read"] == [
        {"name": "log.ndjson", "reason": "export log, not FHIR resources"}
    ]
    assert summary["resources_read"] == 11 + 555 + 1745 + 13
    assert 13 <= summary["resources_screened"] < summary["resources_read"]
    assert summary["lines_skipped"] == 0
    assert summary["skipped"] == []
