"""Screening throughput against the parse-only floor, measured in the same run.

Builds N synthetic patient Bundles (about 30 resources each: a Patient, Conditions,
MedicationRequests, AllergyIntolerances, Observations and Procedures with realistic
codes, some of which fire rules), serialises them to bytes, then times:

* **parse only**: ``orjson.loads`` of every Bundle (the floor: no screening can be faster);
* **screen**: ``orjson.loads`` + ``screen_document`` (reading, code lookups, rules).

It prints patients/s for both and their ratio. Target: ratio >= 0.25.
Run: ``make bench`` or ``.venv/bin/python bench/screen_bench.py --n 2000``.
Synthetic data only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from needlewise.knowledge.loader import load
from needlewise.services.stateless_screening import screen_document

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
RXN = "http://www.nlm.nih.gov/research/umls/rxnorm"
LNC = "http://loinc.org"

CONDITIONS = [
    (SCT, "38341003", "Hypertension"),
    (SCT, "162864005", "Body mass index 30+ - obesity (finding)"),
    (SCT, "15777000", "Prediabetes"),
    (SCT, "40055000", "Chronic sinusitis (disorder)"),
    (ICD, "M54.50", "Low back pain, unspecified"),
    (ICD, "M54.2", "Cervicalgia"),
    (ICD, "E11.9", "Type 2 diabetes mellitus without complications"),
    (ICD, "Z79.01", "Long term (current) use of anticoagulants"),
    (SCT, "84757009", "Epilepsy"),
    (ICD, "J45.909", "Unspecified asthma, uncomplicated"),
]
MEDICATIONS = [
    (RXN, "310798", "Hydrochlorothiazide 25 MG Oral Tablet"),
    (RXN, "855332", "Warfarin Sodium 5 MG Oral Tablet"),
    (RXN, "314076", "lisinopril 10 MG Oral Tablet"),
    (RXN, "197361", "Amlodipine 5 MG Oral Tablet"),
    (RXN, "860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
    (RXN, "198211", "Simvastatin 40 MG Oral Tablet"),
]
OBSERVATIONS = [
    (LNC, "8310-5", "Body temperature"),
    (LNC, "8867-4", "Heart rate"),
    (LNC, "9279-1", "Respiratory rate"),
    (LNC, "29463-7", "Body weight"),
    (LNC, "777-3", "Platelets [#/volume] in Blood by Automated count"),
    (LNC, "6301-6", "INR in Platelet poor plasma by Coagulation assay"),
]


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def make_bundle(rng: random.Random, index: int) -> dict[str, Any]:
    """One synthetic patient Bundle of about 30 resources."""
    pid = f"pat-{index}"
    subject = {"reference": f"urn:uuid:{pid}"}
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{pid}",
            "resource": {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"family": f"Synthetic{index}", "given": ["Test"]}],
                "gender": rng.choice(["female", "male"]),
                "birthDate": f"{rng.randint(1940, 2015)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            },
        }
    ]

    def add(resource: dict[str, Any]) -> None:
        rid = f"{resource['resourceType'].lower()}-{index}-{len(entries)}"
        resource["id"] = rid
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": resource})

    for _ in range(8):
        system, code, display = rng.choice(CONDITIONS)
        status = rng.choice(["active", "active", "resolved"])
        add(
            {
                "resourceType": "Condition",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": status,
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed",
                        }
                    ]
                },
                "code": _concept(system, code, display),
                "subject": subject,
                "onsetDateTime": f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-15T10:00:00Z",
            }
        )
    for _ in range(6):
        system, code, display = rng.choice(MEDICATIONS)
        add(
            {
                "resourceType": "MedicationRequest",
                "status": rng.choice(["active", "stopped", "completed"]),
                "intent": "order",
                "medicationCodeableConcept": _concept(system, code, display),
                "subject": subject,
                "authoredOn": f"20{rng.randint(15, 25)}-0{rng.randint(1, 9)}-01T09:00:00Z",
            }
        )
    add(
        {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": _concept(SCT, rng.choice(["33396006", "91936005", "300916003"]), "Allergen"),
            "patient": subject,
        }
    )
    for _ in range(12):
        system, code, display = rng.choice(OBSERVATIONS)
        flag = rng.choice(["N", "N", "N", "H", "L"])
        add(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": _concept(system, code, display),
                "subject": subject,
                "effectiveDateTime": f"2026-0{rng.randint(1, 9)}-0{rng.randint(1, 9)}T08:00:00Z",
                "valueQuantity": {
                    "value": round(rng.uniform(1, 300), 1),
                    "unit": "1",
                    "system": "http://unitsofmeasure.org",
                    "code": "1",
                },
                "interpretation": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                "code": flag,
                            }
                        ]
                    }
                ],
            }
        )
    for _ in range(2):
        add(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": _concept(SCT, "430193006", "Medication reconciliation (procedure)"),
                "subject": subject,
                "performedDateTime": "2025-03-01T10:00:00Z",
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def best_of(repeat: int, func: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="number of patient Bundles")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best is kept)")
    parser.add_argument("--valuesets", type=Path, default=Path("../shared/valuesets"))
    parser.add_argument(
        "--synthea",
        type=Path,
        default=None,
        help="screen the Synthea Bundles in this folder instead (repeated to --n patients)",
    )
    args = parser.parse_args()

    kb = load(args.valuesets.resolve() if args.valuesets.is_dir() else None)
    if args.synthea is not None:
        files = sorted(args.synthea.glob("*.json"))
        if not files:
            raise SystemExit(f"no Synthea Bundles in {args.synthea}")
        payloads = [files[i % len(files)].read_bytes() for i in range(args.n)]
        label = f"Synthea Bundles from {args.synthea} ({len(files)} distinct)"
    else:
        rng = random.Random(20261126)
        payloads = [orjson.dumps(make_bundle(rng, i)) for i in range(args.n)]
        label = "synthetic Bundles"
    resources = statistics.mean(len(orjson.loads(p)["entry"]) for p in payloads[:50])
    size = statistics.mean(len(p) for p in payloads) / 1024
    day = date(2026, 11, 26)

    def parse_only() -> None:
        for payload in payloads:
            orjson.loads(payload)

    decisions: dict[str, int] = {}

    def screen_all() -> None:
        decisions.clear()
        for payload in payloads:
            result = screen_document(
                orjson.loads(payload), kb, as_of=day, electrical_stimulation=False
            )
            decisions[result.decision] = decisions.get(result.decision, 0) + 1

    screen_all()  # warm up (builds caches) and checks every Bundle screens
    parse = best_of(args.repeat, parse_only)
    screen = best_of(args.repeat, screen_all)
    parse_rate, screen_rate = args.n / parse, args.n / screen
    ratio = screen_rate / parse_rate
    print(
        f"screen_bench: {args.n} {label}, {resources:.0f} resources and {size:.1f} KiB on average"
    )
    print(f"  knowledge {kb.version}, value sets loaded: {kb.codes.value_sets_loaded}")
    print(f"  parse only (orjson.loads):   {parse_rate:10,.0f} patients/s")
    print(f"  parse + screen:              {screen_rate:10,.0f} patients/s")
    print(
        f"  ratio screen / parse-only:   {ratio:10.2f}   (target >= 0.25: {'met' if ratio >= 0.25 else 'NOT met'})"
    )
    print(f"  decisions: {dict(sorted(decisions.items()))}")


if __name__ == "__main__":
    main()
