"""The ``needlewise`` command line, end to end.

A handful of cases run the real installed console script in a subprocess (cwd = repo
root); the rest use click's ``CliRunner`` against ``needlewise.cli.main`` (same code, no
interpreter start-up). Contract (cli.py docstring): ``--json`` prints the canonical JSON;
exit 0 success, 2 unusable input with ONE line on stderr naming the problem and where
(file and JSON path), 1 internal error; never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import require_folder
from needlewise.cli import main
from needlewise.interop.fhir.canonical import NULL_FLAVOR_SYSTEM, YES_NO_SYSTEM
from needlewise.knowledge.base import KnowledgeBase
from needlewise.messages import MESSAGES

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".venv" / "bin" / "needlewise"
if not SCRIPT.exists():  # e.g. a venv elsewhere: use the script next to this interpreter
    SCRIPT = Path(sys.executable).with_name("needlewise")

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


# ---------------------------------------------------------------- synthetic inputs


def anticoagulant_bundle(birth_date: str = "1980-04-02") -> dict[str, Any]:
    """Synthetic patient born 1980 with an active ICD-10-CM Z79.01 (long-term anticoagulants)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:7c1f0d2e-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Patient", "id": "syn-1", "birthDate": birth_date},
            },
            {
                "fullUrl": "urn:uuid:7c1f0d2e-0000-4000-8000-000000000002",
                "resource": {
                    "resourceType": "Condition",
                    "id": "syn-cond-1",
                    "subject": {"reference": "Patient/syn-1"},
                    "clinicalStatus": {
                        "coding": [{"system": CONDITION_CLINICAL, "code": "active"}]
                    },
                    "code": {
                        "coding": [
                            {
                                "system": ICD10CM,
                                "code": "Z79.01",
                                "display": "Long term (current) use of anticoagulants",
                            }
                        ]
                    },
                },
            },
        ],
    }


THREE_MUSCLES = {
    "muscles": [
        {"muscle": "muscle.upper-trapezius", "laterality": "left"},
        {"muscle": "muscle.levator-scapulae", "laterality": "left"},
        {"muscle": "muscle.rhomboids", "laterality": "right"},
    ]
}


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def vs(valuesets_dir: Path) -> str:
    """The value-set folder as an absolute path (for --valuesets)."""
    return str(valuesets_dir.resolve())


def write_json(folder: Path, name: str, document: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def invoke(runner: CliRunner, vs: str, *args: str, stdin: str | bytes | None = None) -> Result:
    return runner.invoke(main, ["--valuesets", vs, *args], input=stdin, catch_exceptions=False)


def json_out(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_script(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def assert_one_line_input_error(result: Result, *expected: str) -> str:
    """Exit 2, nothing on stdout, exactly one stderr line starting ``needlewise: ``."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    stderr = result.stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("needlewise: "), line
    for part in expected:
        assert part in line, (part, line)
    return line


# ---------------------------------------------------------------- real console script


def test_script_screen_json_file(tmp_path: Path, vs: str) -> None:
    path = write_json(tmp_path, "bundle.json", anticoagulant_bundle())
    proc = run_script("--valuesets", vs, "screen", "--json", str(path))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    result = json.loads(proc.stdout)
    assert result["decision"] == "review"
    rules = [f["rule"] for f in result["findings"]]
    assert "contraindication.anticoagulant" in rules
    finding = next(f for f in result["findings"] if f["rule"] == "contraindication.anticoagulant")
    assert finding["certainty"] == "present"
    assert any("Z79.01" in line for line in finding["evidence"])
    assert finding["sources"]


def test_script_screen_json_stdin(vs: str) -> None:
    stdin = json.dumps(anticoagulant_bundle()).encode()
    proc = run_script("--valuesets", vs, "screen", "--json", "-", stdin=stdin)
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result["decision"] == "review"
    assert "contraindication.anticoagulant" in [f["rule"] for f in result["findings"]]


def test_script_bad_input_is_one_line_exit_2(tmp_path: Path, vs: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"a":', encoding="utf-8")
    proc = run_script("--valuesets", vs, "screen", str(path))
    assert proc.returncode == 2
    assert proc.stdout == b""
    stderr = proc.stderr.decode()
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("needlewise: ")
    assert str(path) in stderr
    assert "JSON" in stderr


def test_script_kb_check_with_default_folder() -> None:
    """cwd = repo root: the default ../shared/valuesets resolves without --valuesets."""
    require_folder(REPO / ".." / "shared" / "valuesets", "valuesets")  # CI=true: must exist
    proc = run_script("kb", "check", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["valid"] is True
    assert report["value_sets"]["loaded"] > 0
    assert report["problems"] == []


def test_script_version() -> None:
    proc = run_script("--version")
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == "needlewise, version 0.1.0"


def test_script_help() -> None:
    proc = run_script("--help")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    for command in ("screen", "triage", "code-session", "scope", "questionnaire", "kb", "serve"):
        assert command in out


# ---------------------------------------------------------------- screen


def test_screen_json(runner: CliRunner, vs: str, tmp_path: Path, kb: KnowledgeBase) -> None:
    path = write_json(tmp_path, "bundle.json", anticoagulant_bundle())
    result = json_out(invoke(runner, vs, "screen", "--json", str(path)))
    assert result["decision"] == "review"
    assert [f["rule"] for f in result["findings"]] == ["contraindication.anticoagulant"]
    assert result["knowledge"]["version"] == kb.version
    assert result["knowledge"]["value_sets"]["loaded"] > 0
    assert result["language"] == "en"
    # full citations for every source a finding names
    for finding in result["findings"]:
        assert set(finding["sources"]) <= set(result["citations"])


def test_screen_json_from_stdin(runner: CliRunner, vs: str) -> None:
    result = json_out(
        invoke(runner, vs, "screen", "--json", "-", stdin=json.dumps(anticoagulant_bundle()))
    )
    assert result["decision"] == "review"
    assert "contraindication.anticoagulant" in [f["rule"] for f in result["findings"]]


def test_screen_human_output(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "bundle.json", anticoagulant_bundle())
    result = invoke(runner, vs, "screen", str(path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Decision:")
    assert "REVIEW" in lines[0]
    assert "contraindication.anticoagulant" in result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


def test_screen_spanish_titles(
    runner: CliRunner, vs: str, tmp_path: Path, kb: KnowledgeBase
) -> None:
    path = write_json(tmp_path, "bundle.json", anticoagulant_bundle())
    rule = kb.contraindication("contraindication.anticoagulant")
    assert rule is not None
    spanish, english = rule.title.get("es"), rule.title.get("en")
    assert spanish != english

    result = json_out(invoke(runner, vs, "screen", "--json", "--lang", "es", str(path)))
    assert result["language"] == "es"
    assert result["findings"][0]["title"] == spanish

    human = invoke(runner, vs, "screen", "--lang", "es", str(path))
    assert human.exit_code == 0
    assert spanish in human.stdout
    assert MESSAGES["decision.review"]["es"] in human.stdout.splitlines()[0]


def test_screen_as_of(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    """Born 1980: a child on 1990-06-01 (contraindication.child fires), an adult on 2026-11-26."""
    path = write_json(tmp_path, "bundle.json", anticoagulant_bundle("1980-04-02"))
    then = json_out(invoke(runner, vs, "screen", "--json", "--as-of", "1990-06-01", str(path)))
    child = next((f for f in then["findings"] if f["rule"] == "contraindication.child"), None)
    assert child is not None, then["findings"]
    assert any("age 10 on 1990-06-01" in line for line in child["evidence"])

    now = json_out(invoke(runner, vs, "screen", "--json", "--as-of", "2026-11-26", str(path)))
    assert "contraindication.child" not in [f["rule"] for f in now["findings"]]
    assert "contraindication.child" not in now["unanswered"]


def test_screen_as_of_rejects_a_bad_date(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "bundle.json", anticoagulant_bundle())
    result = invoke(runner, vs, "screen", "--json", "--as-of", "26/11/2026", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--as-of" in result.stderr
    assert "Traceback" not in result.stderr


def test_screen_electrical_stimulation_flag(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "bundle.json", anticoagulant_bundle())
    device = "contraindication.implanted-device"
    unknown = json_out(invoke(runner, vs, "screen", "--json", str(path)))
    planned = json_out(
        invoke(runner, vs, "screen", "--json", "--electrical-stimulation", str(path))
    )
    without = json_out(
        invoke(runner, vs, "screen", "--json", "--no-electrical-stimulation", str(path))
    )
    assert device in unknown["unanswered"]
    assert device in planned["unanswered"]
    assert device not in without["unanswered"]
    # only that rule depends on the plan
    assert set(unknown["unanswered"]) - set(without["unanswered"]) == {device}


# ---------------------------------------------------------------- triage


def test_triage_chest_pain_is_emergency(runner: CliRunner, vs: str) -> None:
    result = json_out(
        invoke(runner, vs, "triage", "--json", "-", stdin='{"symptoms":["symptom.chest-pain"]}')
    )
    assert result["disposition"] == "emergency"
    assert result["reasons"][0]["rule"] == "symptom.chest-pain"
    assert result["reasons"][0]["tier"] == "emergency"
    assert result["advice"]


@pytest.mark.parametrize(
    ("temperature", "disposition"),
    [
        ({"value": 38.2, "unit": "Cel"}, "call-provider"),
        ({"value": 38.0, "unit": "Cel"}, "call-provider"),  # cut-off is inclusive
        ({"value": 100.4, "unit": "[degF]"}, "call-provider"),
        ({"value": 36.8, "unit": "Cel"}, "self-care"),
        ({"value": 98.6, "unit": "[degF]"}, "self-care"),
    ],
)
def test_triage_temperature(
    runner: CliRunner, vs: str, tmp_path: Path, temperature: dict[str, Any], disposition: str
) -> None:
    path = write_json(tmp_path, "checkin.json", {"temperature": temperature})
    result = json_out(invoke(runner, vs, "triage", "--json", str(path)))
    assert result["disposition"] == disposition
    fever = [r for r in result["reasons"] if r["rule"] == "symptom.fever"]
    assert bool(fever) == (disposition == "call-provider")


def test_triage_human_output(runner: CliRunner, vs: str) -> None:
    result = invoke(runner, vs, "triage", "-", stdin='{"symptoms":["symptom.chest-pain"]}')
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Disposition:")
    assert "EMERGENCY" in lines[0]
    assert "Advice:" in lines


@pytest.mark.parametrize(
    ("conditions", "disposition", "shown"),
    [
        ((), "call-provider", "Patient conditions: not known"),
        (("immunocompromised",), "emergency", "contraindication.immunocompromised (--condition)"),
        (("contraindication.malignancy", "diabetes"), "emergency", "contraindication.diabetes"),
    ],
    ids=["history-unknown", "immunocompromised", "cancer-and-diabetes"],
)
def test_triage_condition_option(
    runner: CliRunner, vs: str, conditions: tuple[str, ...], disposition: str, shown: str
) -> None:
    """escalation.fever-weak-immunity through ``--condition`` (content review 1)."""
    options = [part for c in conditions for part in ("--condition", c)]
    stdin = '{"temperature": {"value": 38.4, "unit": "Cel"}}'
    human = invoke(runner, vs, "triage", *options, "-", stdin=stdin)
    assert human.exit_code == 0, human.output
    assert disposition.upper() in human.stdout.splitlines()[0]
    assert shown in human.stdout
    result = json_out(invoke(runner, vs, "triage", "--json", *options, "-", stdin=stdin))
    assert result["disposition"] == disposition
    assert ("escalation.fever-weak-immunity" in [r["rule"] for r in result["reasons"]]) is bool(
        conditions
    )


def test_triage_unknown_condition_is_a_usage_error(runner: CliRunner, vs: str) -> None:
    result = invoke(runner, vs, "triage", "--condition", "hart-valve", "-", stdin="{}")
    assert result.exit_code == 2
    assert "unknown condition 'hart-valve'" in result.output
    assert "Traceback" not in result.output


def test_triage_spanish(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    document = {"symptoms": ["symptom.chest-pain"], "language": "es"}
    result = json_out(invoke(runner, vs, "triage", "--json", "-", stdin=json.dumps(document)))
    symptom = kb.symptom("symptom.chest-pain")
    assert symptom is not None
    assert result["language"] == "es"
    assert result["reasons"][0]["title"] == symptom.title.get("es")


# ---------------------------------------------------------------- code-session


def test_code_session_three_muscles(runner: CliRunner, vs: str) -> None:
    result = json_out(
        invoke(runner, vs, "code-session", "--json", "-", stdin=json.dumps(THREE_MUSCLES))
    )
    assert [line["code"] for line in result["lines"]] == ["20561"]
    assert result["lines"][0]["muscle_count"] == 3
    assert result["lines"][0]["units"] == 1
    assert [m["muscle"] for m in result["muscles"]] == [
        "muscle.upper-trapezius",
        "muscle.levator-scapulae",
        "muscle.rhomboids",
    ]


def test_code_session_one_muscle(runner: CliRunner, vs: str) -> None:
    document = {"muscles": [{"muscle": "upper-trapezius", "laterality": "left"}]}
    result = json_out(invoke(runner, vs, "code-session", "--json", "-", stdin=json.dumps(document)))
    assert [line["code"] for line in result["lines"]] == ["20560"]


def test_code_session_human_output(runner: CliRunner, vs: str) -> None:
    result = invoke(runner, vs, "code-session", "-", stdin=json.dumps(THREE_MUSCLES))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("CPT 20561 x1")


# ---------------------------------------------------------------- scope


def test_scope_colorado(runner: CliRunner, vs: str) -> None:
    result = invoke(runner, vs, "scope", "CO")
    assert result.exit_code == 0, result.output
    assert "Colorado" in result.stdout
    assert "allowed" in result.stdout.splitlines()[0]


def test_scope_new_york_json(runner: CliRunner, vs: str) -> None:
    result = json_out(invoke(runner, vs, "scope", "NY", "--json"))
    assert result["state"] == "NY"
    assert result["status"] == "not-permitted"
    assert result["may_perform"] is False


def test_scope_lower_case_state(runner: CliRunner, vs: str) -> None:
    result = json_out(invoke(runner, vs, "scope", "ny", "--json"))
    assert result["state"] == "NY"


def test_scope_profession(runner: CliRunner, vs: str) -> None:
    result = json_out(invoke(runner, vs, "scope", "CO", "--profession", "acupuncturist", "--json"))
    assert result["profession"] == "acupuncturist"
    assert result["state"] == "CO"
    assert result["status"] in {"allowed", "not-permitted", "silent", "unknown"}
    assert result["sources"]


def test_scope_profession_human_output_has_no_python_none(runner: CliRunner, vs: str) -> None:
    """A record without an as-of date must not print Python's ``None`` to the user."""
    result = invoke(runner, vs, "scope", "CO", "--profession", "acupuncturist")
    assert result.exit_code == 0, result.output
    assert "Colorado" in result.stdout
    assert "None" not in result.stdout, result.stdout


def test_scope_unknown_profession_is_a_usage_error(runner: CliRunner, vs: str) -> None:
    result = invoke(runner, vs, "scope", "CO", "--profession", "dentist")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- questionnaire


def test_questionnaire_intake(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    q = json_out(invoke(runner, vs, "questionnaire", "intake"))
    assert q["resourceType"] == "Questionnaire"
    assert q["language"] == "en"
    assert [item["linkId"] for item in q["item"]] == [r.id for r in kb.contraindications]
    for item, rule in zip(q["item"], kb.contraindications, strict=True):
        assert item["text"] == rule.question.get("en")
        codes = [
            (o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in item["answerOption"]
        ]
        assert codes == [(YES_NO_SYSTEM, "Y"), (YES_NO_SYSTEM, "N"), (NULL_FLAVOR_SYSTEM, "UNK")]


def test_questionnaire_intake_spanish(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    q = json_out(invoke(runner, vs, "questionnaire", "intake", "--lang", "es"))
    assert q["language"] == "es"
    assert q["title"] == MESSAGES["intake.title"]["es"]
    for item, rule in zip(q["item"], kb.contraindications, strict=True):
        assert item["text"] == rule.question.get("es")


def test_questionnaire_aftercare(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    q = json_out(invoke(runner, vs, "questionnaire", "aftercare"))
    assert q["resourceType"] == "Questionnaire"
    assert q["item"][0]["linkId"] == "group.emergency"


def test_questionnaire_unknown_kind(runner: CliRunner, vs: str) -> None:
    result = invoke(runner, vs, "questionnaire", "discharge")
    assert result.exit_code == 2
    assert result.stdout == ""


# ---------------------------------------------------------------- kb


def test_kb_check_ok(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    result = invoke(runner, vs, "kb", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Knowledge base {kb.version}")
    assert vs in result.stdout
    report = json_out(invoke(runner, vs, "kb", "check", "--json"))
    assert report["valid"] is True
    assert report["problems"] == []
    assert report["value_sets"]["folder"] == vs
    assert all(s["found"] for s in report["value_sets"]["named"])


def test_kb_check_missing_folder(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--valuesets", "/nonexistent", "kb", "check"])
    assert result.exit_code == 2
    assert "/nonexistent" in result.stderr
    assert "Traceback" not in result.output
    report = runner.invoke(main, ["--valuesets", "/nonexistent", "kb", "check", "--json"])
    assert report.exit_code == 2
    problems = json.loads(report.stdout)["problems"]
    assert any("/nonexistent" in p for p in problems)


def test_kb_show_item_with_citations(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    shown = json_out(invoke(runner, vs, "kb", "show", "contraindication.pregnancy"))
    assert shown["item"]["id"] == "contraindication.pregnancy"
    sources = shown["item"]["sources"]
    assert sources
    assert set(sources) <= set(shown["citations"])
    for source_id in sources:
        assert shown["citations"][source_id] == kb.citation(source_id)
        assert shown["citations"][source_id] != source_id  # a real citation, not the id


def test_kb_show_prefix_lists_symptoms(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    shown = json_out(invoke(runner, vs, "kb", "show", "symptom"))
    assert [i["id"] for i in shown["items"]] == [s.id for s in kb.symptoms]
    assert all(i["title"] for i in shown["items"])


def test_kb_show_summary(runner: CliRunner, vs: str, kb: KnowledgeBase) -> None:
    shown = json_out(invoke(runner, vs, "kb", "show"))
    assert shown["version"] == kb.version
    assert shown["ids"]["contraindication"] == [r.id for r in kb.contraindications]


def test_kb_show_unknown(runner: CliRunner, vs: str) -> None:
    result = invoke(runner, vs, "kb", "show", "nope")
    assert_one_line_input_error(result, "nope")


# ---------------------------------------------------------------- help and version


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["screen"],
        ["triage"],
        ["code-session"],
        ["scope"],
        ["questionnaire"],
        ["kb"],
        ["kb", "check"],
        ["kb", "show"],
        ["serve"],
    ],
)
def test_help(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage:")


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("version 0.1.0")


# ---------------------------------------------------------------- bad input: exit 2, one line


def test_empty_file(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(b"")
    line = assert_one_line_input_error(invoke(runner, vs, "screen", str(path)), str(path))
    assert "empty" in line


def test_whitespace_only_file(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = tmp_path / "blank.json"
    path.write_bytes(b"  \n\t \r\n")
    line = assert_one_line_input_error(invoke(runner, vs, "screen", str(path)), str(path))
    assert "empty" in line


@pytest.mark.parametrize("command", ["screen", "triage", "code-session"])
def test_not_json(runner: CliRunner, vs: str, tmp_path: Path, command: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"a":', encoding="utf-8")
    assert_one_line_input_error(invoke(runner, vs, command, str(path)), str(path), "not valid JSON")


def test_not_json_from_stdin(runner: CliRunner, vs: str) -> None:
    assert_one_line_input_error(
        invoke(runner, vs, "screen", "-", stdin='{"a":'), "stdin", "not valid JSON"
    )


def test_wrong_resource_type(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "patient.json", {"resourceType": "Patient"})
    assert_one_line_input_error(
        invoke(runner, vs, "screen", str(path)), str(path), "$.resourceType", "Patient"
    )


def test_wrong_resource_type_for_triage(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "patient.json", {"resourceType": "Patient"})
    assert_one_line_input_error(
        invoke(runner, vs, "triage", str(path)), str(path), "$.resourceType"
    )


@pytest.mark.parametrize("command", ["screen", "triage", "code-session"])
def test_json_array(runner: CliRunner, vs: str, tmp_path: Path, command: str) -> None:
    path = write_json(tmp_path, "array.json", [{"resourceType": "Bundle"}])
    line = assert_one_line_input_error(invoke(runner, vs, command, str(path)), str(path))
    assert f"{path}: $" in line


def test_unknown_symptom(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "checkin.json", {"symptoms": ["symptom.chest-pain", "symptom.x"]})
    assert_one_line_input_error(
        invoke(runner, vs, "triage", str(path)), str(path), "$.symptoms[1]", "symptom.x"
    )
    path = write_json(tmp_path, "checkin0.json", {"symptoms": ["symptom.nope"]})
    assert_one_line_input_error(invoke(runner, vs, "triage", str(path)), "$.symptoms[0]")


def test_unknown_temperature_unit(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "checkin.json", {"temperature": {"value": 38.2, "unit": "C"}})
    assert_one_line_input_error(
        invoke(runner, vs, "triage", str(path)), str(path), "$.temperature", "Cel"
    )


def test_implausible_temperature(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    """38.2 given as °F is a typo for °C: refused, not silently read as normal."""
    path = write_json(tmp_path, "checkin.json", {"temperature": {"value": 38.2, "unit": "[degF]"}})
    assert_one_line_input_error(invoke(runner, vs, "triage", str(path)), "$.temperature")


def test_unknown_field_in_triage(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "checkin.json", {"symptom": ["symptom.chest-pain"]})
    assert_one_line_input_error(invoke(runner, vs, "triage", str(path)), str(path), "$.symptom")


def test_missing_file(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    path = tmp_path / "does-not-exist.json"
    line = assert_one_line_input_error(invoke(runner, vs, "screen", str(path)), str(path))
    assert "cannot read" in line


def test_folder_as_file(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    line = assert_one_line_input_error(invoke(runner, vs, "triage", str(tmp_path)), str(tmp_path))
    assert "folder" in line


def test_unknown_muscle(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    document = {
        "muscles": [
            {"muscle": "muscle.upper-trapezius", "laterality": "left"},
            {"muscle": "muscle.made-up", "laterality": "left"},
        ]
    }
    path = write_json(tmp_path, "session.json", document)
    assert_one_line_input_error(
        invoke(runner, vs, "code-session", str(path)), str(path), "$.muscles[1].muscle", "made-up"
    )


def test_unknown_state(runner: CliRunner, vs: str) -> None:
    assert_one_line_input_error(invoke(runner, vs, "scope", "XX"), "XX", "state")


def test_unknown_state_json(runner: CliRunner, vs: str) -> None:
    assert_one_line_input_error(invoke(runner, vs, "scope", "ZZ", "--json"), "ZZ")


def test_bad_concept_text_names_its_path(runner: CliRunner, vs: str, tmp_path: Path) -> None:
    """A non-string ``Condition.code.text`` is refused, and the path says where it is."""
    bundle = anticoagulant_bundle()
    bundle["entry"][1]["resource"]["code"]["text"] = 5
    path = write_json(tmp_path, "bundle.json", bundle)
    assert_one_line_input_error(
        invoke(runner, vs, "screen", str(path)), str(path), "$.entry[1].resource.code.text"
    )


def test_aftercare_time_code_of_wrong_type_is_input_error(
    runner: CliRunner, vs: str, tmp_path: Path
) -> None:
    """An aftercare answer whose time code is not a string is unusable input (exit 2), not a crash."""
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "time-since-treatment", "answer": [{"valueCoding": {"code": []}}]}],
    }
    path = write_json(tmp_path, "aftercare.json", response)
    assert_one_line_input_error(
        invoke(runner, vs, "triage", str(path)), str(path), "$.item[0].answer[0].valueCoding"
    )


def test_script_bad_input_from_stdin_has_no_traceback(vs: str) -> None:
    proc = run_script(
        "--valuesets", vs, "triage", "-", stdin=b'{"temperature":{"value":38,"unit":"C"}}'
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    stderr = proc.stderr.decode()
    assert "Traceback" not in stderr
    assert stderr.splitlines() == [stderr.strip()]
    assert stderr.startswith("needlewise: stdin: $.temperature")
    assert "Cel" in stderr
