"""Helpers shared by the tests (importable as ``support``: pytest adds tests/ to the path)."""

import shutil
from pathlib import Path


def copy_knowledge(folder: Path) -> Path:
    """Copy the knowledge base's data files (and language folder) into ``folder``."""
    data = Path(__file__).resolve().parents[2] / "src/needlewise/knowledge/data"
    shutil.copytree(data, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return folder
