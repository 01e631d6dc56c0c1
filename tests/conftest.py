"""Shared fixtures.

* ``settings``      — Settings read from the environment (NEEDLEWISE_*), once per session.
* ``valuesets_dir`` — the value-set folder; skips with a reason when absent (fails when CI=true).
* ``conformance_dir`` — the public example folder; same rule.
* ``kb``            — the knowledge base loaded with the value sets (use for most tests).
* ``kb_core``       — the knowledge base without any value sets (core codes only).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from needlewise.config import Settings
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.loader import load_cached

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_folder(path: Path | None, what: str) -> Path:
    """Return ``path`` if it is a folder; otherwise skip (or fail under CI=true)."""
    if path is not None and path.is_dir():
        return path
    message = f"{what} folder {path} is absent (set NEEDLEWISE_{what.upper()}_DIR)"
    if IN_CI:
        pytest.fail(f"{message}; under CI it must be present")
    pytest.skip(message)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def valuesets_dir(settings: Settings) -> Path:
    return require_folder(settings.valuesets_dir, "valuesets")


@pytest.fixture(scope="session")
def conformance_dir(settings: Settings) -> Path:
    return require_folder(settings.conformance_dir, "conformance")


@pytest.fixture(scope="session")
def kb(valuesets_dir: Path) -> KnowledgeBase:
    return load_cached(valuesets_dir.resolve())


@pytest.fixture(scope="session")
def kb_core() -> KnowledgeBase:
    return load_cached(None)
