"""``needlewise import`` end to end: click's CliRunner on the real database (and one run
of the installed console script): the summary, --json, stdin, every problem with its
path on stderr, exit codes, and nothing written when anything is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from needlewise.cli import main
from needlewise.services.clinic import ClinicIn, create_clinic
from support.fhir_records import bundle, condition, counts, patient, snapshot
from support.service import Service

FANNIE = "fhir-r4/synthea/Fannie_Waelchi_8666cd40-7af9-48c6-a1a6-86a161195542.json"
SCRIPT = Path(sys.executable).with_name("needlewise")


def cli(service: Service, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), obj=service.runtime.settings, input=stdin)


@pytest.mark.conformance
def test_a_synthea_file_imports_then_matches(service: Service, conformance_dir: Path) -> None:
    """Fannie Waelchi's bundle: one Patient, 20 Observations and one each of Claim,
    DiagnosticReport, Encounter, ExplanationOfBenefit, Immunization, Organization and
    Practitioner (read from the file)."""
    path = str(conformance_dir / FANNIE)
    first = cli(service, "import", path)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        f"Imported {path} into clinic {service.clinic_id}:",
        "  Patient: 1 created, 0 matched",
        "  Observation: 20 created, 0 updated, 0 unchanged",
        "  not imported (skipped): Claim 1, DiagnosticReport 1, Encounter 1, "
        "ExplanationOfBenefit 1, Immunization 1, Organization 1, Practitioner 1",
    ]
    before = counts(service.runtime)
    again = cli(service, "import", path, "--json")
    assert again.exit_code == 0, again.output
    out = json.loads(again.stdout)
    assert out["clinic_id"] == service.clinic_id
    assert (out["patients_created"], out["patients_matched"]) == (0, 1)
    assert out["records"] == {"Observation": {"created": 0, "updated": 0, "unchanged": 20}}
    assert len(out["entries"]) == 28
    after = counts(service.runtime)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }


def test_stdin_and_the_audit_actor(service: Service) -> None:
    document = json.dumps(bundle(patient("p1", "MRN-1"), condition("c1", "Patient/p1")))
    result = cli(service, "import", "-", stdin=document)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"Imported stdin into clinic {service.clinic_id}:"
    assert "  Condition: 1 created, 0 updated, 0 unchanged" in result.output


def test_every_problem_is_listed_and_nothing_is_written(service: Service) -> None:
    document = bundle(
        patient("p1", "MRN-1"),
        {**condition("c1", "Patient/p1"), "onsetDateTime": "1999-99-99"},
        condition("c2", "Patient/ghost"),
    )
    before = snapshot(service.runtime)
    result = cli(service, "import", "-", "--json", stdin=json.dumps(document))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "needlewise: stdin: nothing imported; 2 problems:",
        "  $.entry[1].resource.onsetDateTime: not a valid FHIR date or dateTime (YYYY, "
        "YYYY-MM, YYYY-MM-DD or with a time)",
        "  $.entry[2].resource.subject.reference: refers to a patient not in this bundle; "
        "refer to a Patient of the bundle, or to a stored patient as "
        "Patient?identifier=system|value",
    ]
    assert [e["location"] for e in json.loads(result.stdout)["errors"]] == [
        "$.entry[1].resource.onsetDateTime",
        "$.entry[2].resource.subject.reference",
    ]
    assert "1999-99-99" not in result.output
    assert snapshot(service.runtime) == before


def test_strict_refuses_types_that_are_not_imported(service: Service) -> None:
    encounter = {"resourceType": "Encounter", "id": "e", "status": "finished", "class": {}}
    document = json.dumps(bundle(patient("p1", "MRN-1"), encounter))
    result = cli(service, "import", "-", "--strict", stdin=document)
    assert result.exit_code == 2
    assert "$.entry[1].resource.resourceType: Encounter is not imported" in result.stderr
    assert cli(service, "import", "-", stdin=document).exit_code == 0


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["import", "/nonexistent/x.json"],
            None,
            "/nonexistent/x.json: file: cannot read the file",
        ),
        (["import", "-"], "{oops", "stdin: $: not valid JSON"),
        (["import", "-"], "", "stdin: $: the input is empty"),
        (["import", "-"], '{"resourceType": "Bundle", "type": "document"}', "stdin: $.type:"),
        (["import", "-", "--clinic", "99"], "{}", "--clinic: there is no clinic 99"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    service: Service, args: list[str], stdin: str | None, message: str
) -> None:
    if "--clinic" in args:
        stdin = json.dumps(bundle(patient("p", "M")))
    result = cli(service, *args, stdin=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_several_clinics_need_clinic(service: Service) -> None:
    other = create_clinic(service.runtime, ClinicIn(name="Second Synthetic Clinic"))
    document = json.dumps(bundle(patient("p1", "MRN-1")))
    result = cli(service, "import", "-", stdin=document)
    assert result.exit_code == 2
    assert "give --clinic ID" in result.stderr
    chosen = cli(service, "import", "-", "--clinic", str(other), "--json", stdin=document)
    assert chosen.exit_code == 0, chosen.output
    assert json.loads(chosen.stdout)["clinic_id"] == other


def test_the_installed_script(service: Service, tmp_path: Path) -> None:
    env: dict[str, Any] = {
        **os.environ,
        "NEEDLEWISE_DATABASE_URL": service.runtime.settings.database_url,
        "NEEDLEWISE_SECRET_KEY": "test-secret-key",
    }
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle(patient("p1", "MRN-1"))), encoding="utf-8")
    ran = subprocess.run(
        [str(SCRIPT), "import", str(good), "--json"], env=env, capture_output=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["patients_created"] == 1
    bad = subprocess.run(
        [str(SCRIPT), "import", "-"], input=b"[1]", env=env, capture_output=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.decode().strip().splitlines()[-1] == (
        "needlewise: stdin: $: expected a FHIR resource (a JSON object), found a list"
    )
