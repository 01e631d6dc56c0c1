"""spaCy and medspaCy load only when a message has text (issue 7, deliverable 7).

Each check runs in a fresh interpreter, the way a user runs the CLI, and looks at which
modules were imported. Timing is for bench/ (tests never assert wall-clock times).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("spacy", "medspacy", "PyRuSH", "thinc")

PROBE = f"""
import json, sys
from click.testing import CliRunner
from needlewise.cli import main
args = json.loads(sys.argv[1])
result = CliRunner().invoke(main, args)
print(json.dumps({{"exit": result.exit_code,
                  "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""


def run(args: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_help_imports_no_nlp() -> None:
    assert run(["--help"]) == {"exit": 0, "heavy": []}


@pytest.mark.parametrize(
    ("document", "heavy"),
    [
        ({"symptoms": ["symptom.cough"], "hours_since_treatment": 5}, []),
        ({"symptoms": ["symptom.cough"], "text": "   "}, []),
        ({"text": "I can't breathe"}, sorted(HEAVY)),
    ],
    ids=["no-text", "blank-text", "text"],
)
def test_triage_imports_nlp_only_for_text(
    tmp_path: Path, document: dict[str, object], heavy: list[str]
) -> None:
    path = tmp_path / "check-in.json"
    path.write_text(json.dumps(document))
    result = run(["triage", str(path), "--json"])
    assert result["heavy"] == heavy
    assert result["exit"] == 0


def test_importing_the_nlp_package_is_free() -> None:
    code = f"import sys, needlewise.nlp; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


WARMUP = """
import sys, threading
from fastapi.testclient import TestClient
from needlewise.config import Settings
from needlewise.web.app import create_app
settings = Settings(database_url=sys.argv[1], nlp_warmup=sys.argv[2] == "on")
with TestClient(create_app(settings)) as client:
    for thread in threading.enumerate():
        if thread.name == "nlp-warmup":
            thread.join(60)
    import needlewise.nlp.reader as reader
    print(sorted(language for _, language in reader._READERS))
"""


@pytest.mark.parametrize(("switch", "built"), [("on", "['en', 'es']"), ("off", "[]")])
def test_the_server_builds_the_reader_at_start_up_when_asked(
    tmp_path: Path, switch: str, built: str
) -> None:
    url = f"sqlite:///{tmp_path / 'warm.db'}"
    out = subprocess.run(
        [sys.executable, "-c", WARMUP, url, switch], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == built
