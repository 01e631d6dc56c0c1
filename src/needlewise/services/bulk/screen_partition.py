"""Screen one partition: group its lines by patient, screen each patient, in key order.

This is the pure step that runs in-process or on a Dask worker (it imports no CLI and no
Dask). Each patient's resources become one FHIR ``collection`` Bundle read by the same
reader as ``needlewise screen`` (:func:`needlewise.services.stateless_screening.screen_document`):
no second FHIR reader. A bulk export holds no intake answers, so most patients are
``review`` with unanswered questions; findings from records still fire.

When the reader refuses one resource (``InputError`` with a path into ``$.entry[i]``),
that line is reported with its file and line and the patient is screened again without
it; the problem's reason is the reader's (a path and what is wrong, never a value).

A result line (UTF-8 JSON, one per patient)::

    {"patient": "Patient/…", "decision": "review",
     "findings": [{"rule": …, "level": …, "certainty": …, "evidence": […]}],
     "unanswered": […], "knowledge": {"version": …, "sha256": …, "value_sets_sha256": …}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.bulk.partition import LineProblem
from needlewise.services.stateless_screening import screen_document

_ENTRY_PATH = re.compile(r"^\$\.entry\[(\d+)\](?:\.resource)?")


@dataclass
class PartitionOutcome:
    """What screening one partition produced (picklable: it travels back from workers).

    ``results`` holds ``<patient key> TAB <result JSON> LF`` lines sorted by key.
    """

    results: bytes = b""
    patients: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)
    knowledge: dict[str, Any] = field(default_factory=dict)


def knowledge_of(kb: KnowledgeBase) -> dict[str, Any]:
    """The knowledge stamp every result line carries."""
    stamp = kb.stamp
    return {
        "version": stamp.version,
        "sha256": stamp.sha256,
        "value_sets_sha256": stamp.value_sets_sha256,
    }


def _group(lines: list[bytes]) -> dict[str, list[tuple[int, int, bytes]]]:
    patients: dict[str, list[tuple[int, int, bytes]]] = {}
    for line in lines:
        if not line:
            continue
        key, file_index, number, raw = line.split(b"\t", 3)
        patients.setdefault(key.decode(), []).append((int(file_index), int(number), raw))
    return patients


def _screen_patient(
    key: str,
    items: list[tuple[int, int, bytes]],
    kb: KnowledgeBase,
    as_of: date,
    problems: list[LineProblem],
) -> dict[str, Any] | None:
    # the partition step parsed each line already: it is valid JSON and an object; an
    # empty line is a marker that the patient exists (its resources could not fire)
    resources = [(f, number, orjson.loads(raw)) for f, number, raw in items if raw]
    while True:
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": resource} for _, _, resource in resources],
        }
        try:
            result = screen_document(bundle, kb, as_of=as_of)
            break
        except InputError as exc:
            found = _ENTRY_PATH.match(exc.where)
            if found is None or int(found.group(1)) >= len(resources):
                # not one resource's fault: report it on the patient's first line
                file_index, number, _ = resources[0] if resources else items[0]
                problems.append(
                    LineProblem(file_index, number, f"patient not screened: {exc.problem}")
                )
                return None
            file_index, number, _ = resources.pop(int(found.group(1)))
            inner = "$" + exc.where[found.end() :]
            problems.append(LineProblem(file_index, number, f"{inner}: {exc.problem}"))

    return {
        "patient": key,
        "decision": result.decision,
        "findings": [
            {
                "rule": f.rule,
                "level": f.level.value,
                "certainty": f.certainty,
                "evidence": list(f.evidence),
            }
            for f in result.findings
        ],
        "unanswered": list(result.unanswered),
    }


def screen_partition(lines: list[bytes], kb: KnowledgeBase, as_of: date) -> PartitionOutcome:
    """Screen every patient of one partition (its lines, without line ends)."""
    outcome = PartitionOutcome(knowledge=knowledge_of(kb))
    stamp = outcome.knowledge
    out: list[bytes] = []
    patients = _group(lines)
    for key in sorted(patients):
        screened = _screen_patient(key, patients.pop(key), kb, as_of, outcome.problems)
        if screened is None:
            continue
        screened["knowledge"] = stamp
        outcome.patients += 1
        decision = screened["decision"]
        outcome.decisions[decision] = outcome.decisions.get(decision, 0) + 1
        for finding in screened["findings"]:
            outcome.rules[finding["rule"]] = outcome.rules.get(finding["rule"], 0) + 1
        out.append(key.encode() + b"\t" + orjson.dumps(screened) + b"\n")
    outcome.results = b"".join(out)
    return outcome


def read_partition(paths: list[Path]) -> bytes:
    """A partition's lines: its files (one, or a shard per export file) in order."""
    return b"".join(path.read_bytes() for path in paths)


def screen_partition_file(paths: list[Path], kb: KnowledgeBase, as_of: date) -> PartitionOutcome:
    """Screen the partition held in ``paths`` (in-process, or a worker on shared storage)."""
    return screen_partition(read_partition(paths).split(b"\n"), kb, as_of)


def screen_partition_path(
    paths: list[str], valuesets_dir: str | None, as_of: str
) -> PartitionOutcome:
    """The Dask task when the workers see the partition files (shared storage)."""
    data = read_partition([Path(path) for path in paths])
    return screen_partition_bytes(data, valuesets_dir, as_of)


def screen_partition_bytes(data: bytes, valuesets_dir: str | None, as_of: str) -> PartitionOutcome:
    """The Dask task: screen a partition shipped as bytes.

    The knowledge base is loaded once per worker process (``load_cached``) from
    ``valuesets_dir`` as the worker sees it, never shipped with each task; the outcome
    carries its stamp so the caller can refuse a worker whose knowledge differs.
    """
    from needlewise.knowledge.loader import load_cached

    folder = Path(valuesets_dir) if valuesets_dir is not None else None
    kb = load_cached(folder)
    return screen_partition(data.split(b"\n"), kb, date.fromisoformat(as_of))
