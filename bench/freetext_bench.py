"""Free-text triage throughput, next to structured triage of the same reports (issue 7).

Messages are the patient messages of ``tests/nlp/messages*.yaml`` of 5 to 25 words,
English and Spanish (synthetic, written for the tests). In one process, after a
warm-up, it times:

* **structured**: ``triage_document`` of each report as structured answers only (the
  symptom ids its message was read as, the same hours and regions): the baseline;
* **free text**: ``triage_document`` of the same report with its message as ``text``
  (reading the text, then the same triage);
* **reader only**: ``read_message`` alone.

It prints messages/s for each and the ratio free text / structured. Target (issue 7):
free text at least **1,000 messages/s**. The first-message cost (importing spaCy and
medspaCy, building the pipelines) is measured separately, in fresh processes.

Run: ``make bench`` or ``.venv/bin/python bench/freetext_bench.py --rounds 5``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from needlewise.knowledge.loader import load
from needlewise.nlp import read_message
from needlewise.services.triage import triage_document

ROOT = Path(__file__).resolve().parents[1]
TABLES = sorted((ROOT / "tests" / "nlp").glob("messages*.yaml"))
TARGET = 1000.0

FIRST_MESSAGE = """
import json, time
t0 = time.perf_counter()
from needlewise.knowledge.loader import load
kb = load(None)
t1 = time.perf_counter()
import needlewise.nlp.pipeline  # spaCy and medspaCy
t2 = time.perf_counter()
from needlewise.nlp import read_message
read_message("I can't breathe", "en", kb)
t3 = time.perf_counter()
read_message("me falta el aire", "es", kb)
t4 = time.perf_counter()
print(json.dumps({"knowledge": t1 - t0, "import": t2 - t1, "build_en": t3 - t2, "build_es": t4 - t3}))
"""


def messages() -> list[dict[str, Any]]:
    out = []
    for table in TABLES:
        for row in yaml.safe_load(table.read_text(encoding="utf-8")):
            if 5 <= len(row["text"].split()) <= 25:
                out.append(row)
    return out


def reports(rows: list[dict[str, Any]], kb: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(free-text document, structured document) pairs for the same check-in."""
    pairs = []
    for row in rows:
        context = row.get("context") or {"hours_since_treatment": 20}
        text_doc = {"text": row["text"], "language": row["lang"], **context}
        reading = read_message(row["text"], row["lang"], kb)
        symptoms = sorted({m.concept for m in reading.mentions if m.concept.startswith("symptom.")})
        pairs.append((text_doc, {"symptoms": symptoms, "language": row["lang"], **context}))
    return pairs


def timed(call: Any, items: list[Any], rounds: int) -> list[float]:
    """Items per second of ``call(item)`` over ``items``, once per round."""
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            call(item)
        rates.append(len(items) / (time.perf_counter() - started))
    return rates


def first_message(runs: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_MESSAGE], capture_output=True, text=True, check=True
        )
        for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
            found.setdefault(key, []).append(value)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median reported)")
    parser.add_argument("--first-runs", type=int, default=3, help="fresh processes for start-up")
    args = parser.parse_args()

    kb = load(None)
    rows = messages()
    pairs = reports(rows, kb)  # also warms up both pipelines
    texts = [p[0] for p in pairs]
    structured = [p[1] for p in pairs]
    words = [len(r["text"].split()) for r in rows]
    spanish = sum(r["lang"] == "es" for r in rows)

    def triage(document: dict[str, Any]) -> None:
        triage_document(document, kb)

    def read(row: dict[str, Any]) -> None:
        read_message(row["text"], row["lang"], kb)

    timed(triage, texts[:50], 1)  # warm-up
    base = timed(triage, structured, args.rounds)
    free = timed(triage, texts, args.rounds)
    reader = timed(read, rows, args.rounds)
    start = first_message(args.first_runs)

    med = statistics.median
    print(
        f"{len(rows)} messages of 5-25 words (median {med(words):g}; {spanish} Spanish), "
        f"{args.rounds} rounds, median (min-max) messages/s:"
    )
    for label, values in (("structured", base), ("free text", free), ("reader only", reader)):
        print(f"  {label:12s} {med(values):9,.0f}  ({min(values):,.0f}-{max(values):,.0f})")
    print(f"  free text / structured: {med(free) / med(base):.3f}")
    print(f"first message, {args.first_runs} fresh processes, median s:")
    for key, values in start.items():
        print(f"  {key:10s} {med(values):.2f}")
    verdict = "met" if med(free) >= TARGET else "NOT met"
    print(f"target free text >= {TARGET:,.0f} messages/s: {verdict} ({med(free):,.0f})")


if __name__ == "__main__":
    main()
