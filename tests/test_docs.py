"""Documentation cannot go stale: generated docs and README examples are re-rendered and
compared with the checked-in files (`make docs` regenerates them)."""

from __future__ import annotations

import re
from pathlib import Path

import docgen  # tools/docgen.py (pytest puts tools/ on the path)
from needlewise.cli import main
from needlewise.config import Settings
from needlewise.knowledge.base import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]


def test_generated_docs_are_current(kb: KnowledgeBase, valuesets_dir: Path) -> None:
    stale = docgen.stale(kb, valuesets_dir, ROOT)
    assert stale == [], f"run `make docs`: stale {[str(p.relative_to(ROOT)) for p in stale]}"


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs/settings.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"`NEEDLEWISE_{name.upper()}`" in text
        assert field.description, f"setting {name} has no description"


def test_every_command_is_in_the_cli_reference() -> None:
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        inner = getattr(command, "commands", {})
        for path in [[name, i] for i in inner] or [[name]]:
            assert f"## `needlewise {' '.join(path)}`" in text


def test_readme_gives_exactly_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set-up: two commands", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in setup.strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_readme_shows_every_cli_command_with_output() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"^\$ needlewise ([a-z-]+(?: check| show)?)", text, flags=re.M))
    expected = {"screen", "triage", "code-session", "scope", "questionnaire", "kb check", "kb show"}
    assert expected <= shown
    assert "$ make run" in text  # serve, started by make run


def test_every_rule_id_is_in_the_rules_reference(kb: KnowledgeBase) -> None:
    text = (ROOT / "docs/rules.md").read_text(encoding="utf-8")
    ids = [
        *(rule.id for rule in kb.contraindications),
        *(rule.id for rule in kb.symptoms),
        *(rule.id for rule in kb.data.escalations),
        *(rule.id for rule in kb.data.policies),
    ]
    for rule_id in ids:
        assert f"`{rule_id}`" in text
