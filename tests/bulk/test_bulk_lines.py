"""Bulk screening of synthetic exports: broken lines, patients spread across files,
determinism, and which files are read."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.bulk.export import find_export
from needlewise.services.bulk.partition import (
    merge_stats,
    partition_export,
    partition_file,
    shards_of,
)
from needlewise.services.bulk.run import bulk_screen
from needlewise.services.bulk.summary import Summary
from support.bulk_export import (
    EPILEPSY_SCT,
    HYPERTENSION_SCT,
    WARFARIN_RXNORM,
    condition,
    medication_request,
    patient,
    write_export,
)

AS_OF = date(2026, 11, 26)
EPILEPSY = "contraindication.epilepsy"
ANTICOAGULANT = "contraindication.anticoagulant"
SECRET = "Zebediah-Quuxworth"  # a name that must never reach stderr or the summary


def run(folder: Path, kb: KnowledgeBase, partitions: int | None = None) -> tuple[bytes, Summary]:
    out = io.BytesIO()
    summary = bulk_screen(folder, kb, out, as_of=AS_OF, partitions=partitions)
    return out.getvalue(), summary


def by_patient(output: bytes) -> dict[str, dict[str, Any]]:
    return {line["patient"]: line for line in map(orjson.loads, output.splitlines())}


def spread_export(folder: Path) -> Path:
    """Patient a's record spread over two Condition files and a MedicationRequest file."""
    return write_export(
        folder,
        {
            "Patient.000.ndjson": [patient("b"), patient("a", "1975-01-02")],
            "Patient.001.ndjson": [patient("c")],
            "Condition.000.ndjson": [
                condition("c1", "a", HYPERTENSION_SCT, "Hypertension"),
                condition("c2", "b", HYPERTENSION_SCT, "Hypertension"),
            ],
            "Condition.001.ndjson": [condition("c3", "a", EPILEPSY_SCT, "Epilepsy")],
            "MedicationRequest.000.ndjson": [
                medication_request("m1", "a", WARFARIN_RXNORM, "Warfarin Sodium 5 MG Oral Tablet")
            ],
            "Encounter.000.ndjson": [b"this file is never opened"],
        },
    )


def test_a_patient_spread_across_files_is_screened_as_one(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    output, summary = run(spread_export(tmp_path / "x"), kb)
    results = by_patient(output)
    assert list(results) == ["Patient/a", "Patient/b", "Patient/c"]
    a = results["Patient/a"]
    assert {f["rule"] for f in a["findings"]} == {EPILEPSY, ANTICOAGULANT}
    assert "Condition/c3" in " ".join(a["findings"][0]["evidence"] + a["findings"][1]["evidence"])
    assert results["Patient/b"]["findings"] == []
    assert results["Patient/c"]["findings"] == []
    assert summary.rules == {EPILEPSY: 1, ANTICOAGULANT: 1}
    assert summary.lines_skipped == 0
    assert {f.name: f.reason for f in summary.export.ignored} == {
        "Encounter.000.ndjson": "Encounter is not read by screening"
    }


def test_output_does_not_depend_on_the_partition_count(tmp_path: Path, kb: KnowledgeBase) -> None:
    folder = spread_export(tmp_path / "x")
    outputs = {run(folder, kb, partitions=n)[0] for n in (1, 2, 3, 8, 64)}
    assert len(outputs) == 1
    assert run(folder, kb)[0] in outputs  # and a second run is byte-identical


def broken_export(folder: Path) -> Path:
    bad_status = condition("c9", "a", EPILEPSY_SCT, "Epilepsy")
    bad_status["clinicalStatus"] = "active"  # must be a CodeableConcept: the reader refuses
    return write_export(
        folder,
        {
            "Patient.000.ndjson": [
                patient("a"),
                b'{"resourceType": "Patient", "id": "x", "name": "' + SECRET.encode(),  # cut
                [{"resourceType": "Patient", "id": SECRET}],  # an array line
                {"resourceType": "Patient", "name": [{"family": SECRET}]},  # no id
                b"",  # a blank line is nothing
                {"id": "n", "name": SECRET},  # no resourceType
                patient("a"),  # a second Patient/a
            ],
            "Condition.000.ndjson": [
                condition("c1", "a", EPILEPSY_SCT, "Epilepsy"),
                bad_status,
                {**condition("c2", "a", EPILEPSY_SCT, SECRET), "subject": None},
                {**condition("c3", "a", EPILEPSY_SCT, SECRET), "subject": {"display": SECRET}},
                {**condition("c4", "a", EPILEPSY_SCT, "E"), "subject": {"reference": "Group/g"}},
            ],
        },
    )


def test_malformed_lines_are_reported_with_file_and_line_and_skipped(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    output, summary = run(broken_export(tmp_path / "x"), kb)
    reported = [(summary.where(p), p.reason) for p in summary.all_problems()]
    assert reported == [
        ("Condition.000.ndjson:2", reported[0][1]),
        ("Condition.000.ndjson:3", "Condition without a subject or patient reference"),
        ("Condition.000.ndjson:4", "Condition.subject has no usable patient reference"),
        ("Condition.000.ndjson:5", "Condition.subject refers to a Group, not a Patient"),
        ("Patient.000.ndjson:2", "not valid JSON"),
        ("Patient.000.ndjson:3", "not a JSON object (found an array)"),
        ("Patient.000.ndjson:4", "Patient without an id"),
        ("Patient.000.ndjson:6", "no resourceType"),
        ("Patient.000.ndjson:7", reported[-1][1]),
    ]
    assert reported[0][1].startswith("$.clinicalStatus")  # the reader's path, in the resource
    assert "more than one Patient" in reported[-1][1]
    assert summary.lines_skipped == 9
    assert SECRET not in str(summary.to_json())
    assert SECRET not in summary.to_text()
    # the good lines are still screened: Patient/a with its valid epilepsy Condition
    results = by_patient(output)
    assert list(results) == ["Patient/a"]
    assert [f["rule"] for f in results["Patient/a"]["findings"]] == [EPILEPSY]
    evidence = " ".join(results["Patient/a"]["findings"][0]["evidence"])
    assert "Condition/c1" in evidence
    assert "Condition/c9" not in evidence


def test_summary_lists_skipped_lines(tmp_path: Path, kb: KnowledgeBase) -> None:
    document = run(broken_export(tmp_path / "x"), kb)[1].to_json()
    assert document["lines_skipped"] == 9
    assert document["skipped"][4] == {
        "file": "Patient.000.ndjson",
        "line": 2,
        "reason": "not valid JSON",
    }


def test_untyped_file_names_are_routed_by_resource_type(tmp_path: Path, kb: KnowledgeBase) -> None:
    folder = write_export(
        tmp_path / "x",
        {
            "output-1.ndjson": [
                patient("a"),
                condition("c1", "a", EPILEPSY_SCT, "Epilepsy"),
                {"resourceType": "Encounter", "id": "e", "subject": {"reference": "Patient/a"}},
            ],
            "OperationOutcome.000.ndjson": [{"resourceType": "OperationOutcome"}],
            "manifest.json": [{}],
        },
    )
    output, summary = run(folder, kb)
    assert [f["rule"] for f in by_patient(output)["Patient/a"]["findings"]] == [EPILEPSY]
    assert summary.stats.not_screened == {"Encounter": 1}
    reasons = {f.name: f.reason for f in summary.export.ignored}
    assert reasons["manifest.json"] == "not an NDJSON file"
    assert "error report" in reasons["OperationOutcome.000.ndjson"]


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (None, "no such folder"),
        ({}, "the folder is empty"),
        ({"log.ndjson": [{}], "Claim.000.ndjson": [{}]}, "no NDJSON file to screen"),
    ],
)
def test_unusable_folders(tmp_path: Path, files: dict[str, list[Any]] | None, words: str) -> None:
    folder = tmp_path / "export"
    if files is not None:
        write_export(folder, files)
    with pytest.raises(InputError, match=words):
        find_export(folder)


def test_odd_json_values_are_reported_not_crashed_on(tmp_path: Path, kb: KnowledgeBase) -> None:
    folder = write_export(
        tmp_path / "x",
        {
            "Condition.000.ndjson": [
                {"resourceType": ["Condition"], "subject": {"reference": "Patient/a"}},
                {"resourceType": "Condition", "subject": {"reference": ["Patient/a"]}},
                {"resourceType": "Condition", "subject": "Patient/a"},
                {"resourceType": "Condition", "patient": {"reference": "Patient/a\tb"}},
                b"null",
                b"17",
                b'"Patient/a"',
                b"   ",  # whitespace only: nothing
                condition("c1", "a", EPILEPSY_SCT, "Epilepsy"),
            ],
        },
    )
    output, summary = run(folder, kb)
    assert [(p.line, p.reason) for p in summary.all_problems()] == [
        (1, "no resourceType"),
        (2, "Condition.subject has no usable patient reference"),
        (3, "Condition.subject has no usable patient reference"),
        (4, "the patient reference holds a tab or a line break"),
        (5, "not a JSON object (found null)"),
        (6, "not a JSON object (found a number)"),
        (7, "not a JSON object (found a string)"),
    ]
    assert list(by_patient(output)) == ["Patient/a"]


def test_every_referenced_patient_gets_a_result(tmp_path: Path, kb: KnowledgeBase) -> None:
    """A patient whose only resources cannot fire a rule (and who has no Patient line) is
    still screened: review, with the child question unanswered (no birth date)."""
    folder = write_export(
        tmp_path / "x",
        {
            "Condition.000.ndjson": [
                condition("c1", "d", HYPERTENSION_SCT, "Hypertension"),
                condition("c2", "d", HYPERTENSION_SCT, "Hypertension"),
                condition("c3", "e", EPILEPSY_SCT, "Epilepsy"),
            ],
            "Patient.000.ndjson": [patient("f")],
        },
    )
    output, summary = run(folder, kb)
    results = by_patient(output)
    assert list(results) == ["Patient/d", "Patient/e", "Patient/f"]
    d = results["Patient/d"]
    assert d["findings"] == []
    assert d["decision"] == "review"
    assert "contraindication.child" in d["unanswered"]
    assert "contraindication.child" not in results["Patient/f"]["unanswered"]
    assert summary.patients == 3
    assert summary.stats.resources_kept == 2  # c3 and the Patient; c1, c2 only mark d


def test_shards_read_in_file_order_equal_the_one_pass_partitions(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    """Reading files separately (as Dask workers do) gives each partition the very bytes
    of the one-pass partitioning, and the same stats."""
    export = find_export(broken_export(spread_export(tmp_path / "x")))
    one, many = tmp_path / "one", tmp_path / "many"
    one.mkdir()
    many.mkdir()
    single, stats = partition_export(export.files, kb.codes, one, 5)
    parts = [partition_file(f, kb.codes, many, 5) for f in reversed(export.files)]
    sharded = shards_of(many, 5)
    assert [b"".join(p.read_bytes() for p in s) for s in sharded] == [
        s[0].read_bytes() for s in single
    ]
    merged = merge_stats(sorted(parts, key=lambda p: min(p.lines)))
    assert merged == stats
