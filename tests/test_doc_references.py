"""The docs name only things that exist: files, settings and documents.

Every backticked file name (``something.py``, ``docs/x.md``, ``knowledge/data/…``) in the
README, ``docs/``, ``bench/README.md`` and ``CHANGELOG.md`` must resolve to a file or folder
of the repository (looked up from the root, ``src/needlewise``, the knowledge data folder,
``docs/`` and ``bench/``); every Markdown link to a local file must resolve from the
document's folder; every ``NEEDLEWISE_*`` variable must be a setting (or one of the few
variables read outside :class:`~needlewise.config.Settings`).

CHANGELOG entries may name what a change removed or renamed: a line that says so (``moved``,
``renamed``, ``removed``, ``was``, ``instead of``, ``no longer``) is not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from needlewise.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        ROOT / "bench" / "README.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)
SEARCH = [
    ROOT,
    ROOT / "src",
    ROOT / "src" / "needlewise",
    ROOT / "src" / "needlewise" / "knowledge" / "data",
    ROOT / "src" / "needlewise" / "knowledge" / "data" / "language",
    ROOT / "docs",
    ROOT / "bench",
]
# read outside Settings: the CLI's debug switch, the test suite's PostgreSQL URL
OTHER_VARIABLES = {"NEEDLEWISE_DEBUG", "NEEDLEWISE_TEST_POSTGRES"}
# a file name in backticks: letters, digits, _ . / - and a known extension
FILE_NAME = re.compile(
    r"`((?:\.{0,2}/)?[A-Za-z0-9_][A-Za-z0-9_./-]*\.(?:py|md|yaml|yml|toml|txt|json|cfg|ini|sh|png|pdf))`"
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
VARIABLE = re.compile(r"\bNEEDLEWISE_[A-Z0-9_]*[A-Z0-9]\b")
HISTORY = re.compile(r"\b(moved|renamed|removed|was|were|instead of|no longer|replaces|replaced)\b")
# placeholders and files the docs name as an operator's or a user's own
NOT_OURS = re.compile(r"^(\.env|PATH|FILE|backup\.|my-|your-|patient|bundle|answers|out)")


def _exists(name: str) -> bool:
    name = name.removeprefix("./")
    return any((folder / name).exists() for folder in SEARCH)


def _lines(document: Path) -> list[tuple[int, str]]:
    return list(enumerate(document.read_text(encoding="utf-8").splitlines(), start=1))


def _checked(document: Path, line: str) -> bool:
    return not (document.name == "CHANGELOG.md" and HISTORY.search(line))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_named_file_exists(document: Path) -> None:
    missing = [
        f"{document.name}:{number}: `{name}`"
        for number, line in _lines(document)
        if _checked(document, line)
        for name in FILE_NAME.findall(line)
        if not NOT_OURS.match(name) and not _exists(name)
    ]
    assert not missing, "named but not in the repository:\n" + "\n".join(missing)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_local_link_resolves(document: Path) -> None:
    broken = [
        f"{document.name}:{number}: ({target})"
        for number, line in _lines(document)
        for target in LINK.findall(line)
        if "://" not in target
        and not target.startswith("mailto:")
        and not (document.parent / target).exists()
    ]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_named_variable_is_a_setting(document: Path) -> None:
    known = {f"NEEDLEWISE_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    unknown = [
        f"{document.name}:{number}: {variable}"
        for number, line in _lines(document)
        if _checked(document, line)
        for variable in VARIABLE.findall(line)
        if variable not in known
    ]
    assert not unknown, "not a setting:\n" + "\n".join(unknown)
