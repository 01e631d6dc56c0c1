"""Files that hold patient data or secrets are readable by their owner only (mode 600).

The attack (issue 9, finding 9): another user of the host read the SQLite database
(created 0644 under the usual umask 022) and, with it, every patient record. The
database, its ``-wal`` and ``-shm`` files, the generated secret key, backups and restored
databases are checked here under umask 022, as a service would run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from needlewise.cli import main
from needlewise.config import Settings
from needlewise.persistence.db import sqlite_path
from support.service import make_service


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def others_bits(path: Path) -> int:
    """The permission bits ``path`` grants to anyone but its owner."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077


def test_a_new_database_and_its_key_are_private(tmp_path: Path, valuesets_dir: Path) -> None:
    path = tmp_path / "var" / "needlewise.sqlite"
    settings = Settings(
        database_url=f"sqlite:///{path}", valuesets_dir=valuesets_dir, nlp_warmup=False
    )  # no secret key: the app makes one, in a file next to the database
    with make_service(settings):  # seeding writes: the -wal and -shm files exist now
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        files.append(path.parent / "secret.key")
        for file in files:
            assert file.exists(), file
            assert others_bits(file) == 0, f"{file.name}: {oct(stat.S_IMODE(file.stat().st_mode))}"
        assert others_bits(path.parent) == 0  # the folder it made for them, too


def test_backups_and_restored_databases_are_private(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    backup = tmp_path / "needlewise.backup"
    done = runner.invoke(main, ["backup", str(backup)], obj=Settings(database_url=database_url))
    assert done.exit_code == 0, done.output
    assert others_bits(backup) == 0
    if sqlite_path(database_url) is not None:
        restored = tmp_path / "restored" / "needlewise.sqlite"
        restored.parent.mkdir()
        done = runner.invoke(
            main,
            ["restore", "--yes", str(backup)],
            obj=Settings(database_url=f"sqlite:///{restored}"),
        )
        assert done.exit_code == 0, done.output
        assert others_bits(restored) == 0
