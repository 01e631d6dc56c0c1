"""``needlewise bulk-screen`` on the command line: output, summary, exit codes, errors,
and the progress bar (only on a terminal).

Exit codes (cli/bulk.py): 0 all read and screened; 3 finished with skipped lines; 2
unusable input; 4 the Dask cluster cannot be used."""

from __future__ import annotations

import json
import os
import pty
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from needlewise.cli import main
from needlewise.cli.bulk import progress_wanted
from support.bulk_export import EPILEPSY_SCT, condition, patient, write_export

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def vs(valuesets_dir: Path) -> str:
    return str(valuesets_dir.resolve())


def invoke(vs: str, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--valuesets", vs, "bulk-screen", "--as-of", "2026-11-26", *args]
    )


def small_export(folder: Path, *extra: bytes) -> Path:
    return write_export(
        folder,
        {
            "Patient.000.ndjson": [patient("a"), patient("b", "2015-06-01"), *extra],
            "Condition.000.ndjson": [condition("c1", "a", EPILEPSY_SCT, "Epilepsy")],
        },
    )


def test_results_to_a_file_and_the_summary_to_stdout(tmp_path: Path, vs: str) -> None:
    folder = small_export(tmp_path / "export")
    out, summary = tmp_path / "results.ndjson", tmp_path / "summary.json"
    result = invoke(vs, str(folder), "--out", str(out), "--summary", str(summary), "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["patient"] for line in lines] == ["Patient/a", "Patient/b"]
    assert [f["rule"] for f in lines[1]["findings"]] == ["contraindication.child"]
    printed = json.loads(result.stdout)
    assert printed == json.loads(summary.read_text())
    assert printed["patients"] == 2
    assert printed["decisions"]["review"] == 2
    assert result.stderr == ""
    assert not (tmp_path / "results.ndjson.partial").exists()


def test_results_to_stdout_and_the_summary_to_stderr(tmp_path: Path, vs: str) -> None:
    result = invoke(vs, str(small_export(tmp_path / "export")))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["patient"] for line in result.stdout.splitlines()] == [
        "Patient/a",
        "Patient/b",
    ]
    assert "Screened 2 patients on 2026-11-26" in result.stderr
    assert "contraindication.epilepsy" in result.stderr


def test_skipped_lines_exit_3_and_are_listed_on_stderr(tmp_path: Path, vs: str) -> None:
    folder = small_export(tmp_path / "export", b"{not json", b"[]")
    out = tmp_path / "results.ndjson"
    result = invoke(vs, str(folder), "--out", str(out))
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == [
        "needlewise: Patient.000.ndjson:3: not valid JSON",
        "needlewise: Patient.000.ndjson:4: not a JSON object (found an array)",
    ]
    assert "Lines skipped: 2" in result.stdout
    assert len(out.read_text().splitlines()) == 2  # the good patients are still written


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (None, "no such folder"),
        ({}, "the folder is empty"),
        ({"log.ndjson": [{}], "notes.txt": [{}]}, "no NDJSON file to screen"),
    ],
)
def test_unusable_folder_exits_2_with_one_line(
    tmp_path: Path, vs: str, files: dict[str, list[object]] | None, words: str
) -> None:
    folder = tmp_path / "export"
    if files is not None:
        write_export(folder, files)
    out = tmp_path / "results.ndjson"
    result = invoke(vs, str(folder), "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"needlewise: {folder}: ")
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not (tmp_path / "results.ndjson.partial").exists()


def test_a_file_instead_of_a_folder(tmp_path: Path, vs: str) -> None:
    file = tmp_path / "Patient.000.ndjson"
    file.write_text("{}\n")
    result = invoke(vs, str(file))
    assert result.exit_code == 2
    assert "is not a folder" in result.stderr


def test_dask_and_workers_together_is_a_usage_error(tmp_path: Path, vs: str) -> None:
    folder = small_export(tmp_path / "export")
    result = invoke(vs, str(folder), "--dask", "tcp://127.0.0.1:1", "--workers", "2")
    assert result.exit_code == 2
    assert result.stderr == "needlewise: give --dask or --workers, not both\n"


@pytest.mark.timeout(60)
def test_an_unreachable_scheduler_exits_4(tmp_path: Path, vs: str) -> None:
    folder = small_export(tmp_path / "export")
    out = tmp_path / "results.ndjson"
    args = ["--out", str(out), "--dask", "tcp://127.0.0.1:1", "--dask-timeout", "1"]
    result = invoke(vs, str(folder), *args)
    assert result.exit_code == 4, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in result.stderr
    assert not out.exists()
    assert not (tmp_path / "results.ndjson.partial").exists()


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_only_on_a_terminal() -> None:
    assert progress_wanted(_Stream(True), True) is True
    assert progress_wanted(_Stream(False), True) is False  # piped or a log file
    assert progress_wanted(_Stream(True), False) is False  # --no-progress
    assert progress_wanted(object(), True) is False  # no isatty at all


def _run_with_stderr(folder: Path, vs: str, stderr: int) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "needlewise.cli", "--valuesets", vs, "bulk-screen"]
    return subprocess.run(
        [*command, str(folder), "--out", os.devnull],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        timeout=60,
        check=False,
    )


def test_bar_drawn_on_a_real_terminal_and_not_into_a_pipe(tmp_path: Path, vs: str) -> None:
    folder = small_export(tmp_path / "export")
    piped = _run_with_stderr(folder, vs, subprocess.PIPE)
    assert piped.returncode == 0
    assert b"Reading" not in piped.stderr
    assert b"Screening" not in piped.stderr
    primary, secondary = pty.openpty()
    try:
        on_tty = _run_with_stderr(folder, vs, secondary)
        os.close(secondary)
        drawn = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(primary)
    assert on_tty.returncode == 0
    assert b"Reading (bytes)" in drawn
    assert b"Screening (partitions)" in drawn


def test_results_written_to_a_device_leave_the_device_in_place(tmp_path: Path, vs: str) -> None:
    """``--out /dev/null`` writes into the device; renaming a finished file onto it (as a
    regular output file is written) would replace /dev/null for the whole machine."""
    before = os.stat(os.devnull)
    assert stat.S_ISCHR(before.st_mode)
    done = _run_with_stderr(small_export(tmp_path / "export"), vs, subprocess.PIPE)
    assert done.returncode == 0, done.stderr
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode)
    assert after.st_ino == before.st_ino


def test_cli_module_imports_no_dask() -> None:
    code = (
        "import sys, needlewise.cli, needlewise.cli.bulk, needlewise.services.bulk.run; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, timeout=60, check=True
    )
    assert done.stdout.strip() == b"[]"


def test_sigterm_removes_temporary_files_and_leaves_no_results(tmp_path: Path, vs: str) -> None:
    many = [patient(f"p{i:06d}") for i in range(60_000)]
    folder = write_export(tmp_path / "export", {"Patient.000.ndjson": many})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "results.ndjson"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "needlewise.cli", "--valuesets", vs, "bulk-screen"]
    command += [str(folder), "--out", str(out), "--temp-dir", str(scratch)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 30
        while not any(scratch.iterdir()) and child.poll() is None:
            assert time.monotonic() < deadline, "no partition folder appeared"
            time.sleep(0.005)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, stderr
    assert b"interrupted" in stderr
    assert b"Traceback" not in stderr
    assert list(scratch.iterdir()) == []
    assert not out.exists()
    assert not (tmp_path / "results.ndjson.partial").exists()


@pytest.mark.parametrize("option", ["--out", "--summary"])
def test_an_output_in_a_missing_folder_exits_2(tmp_path: Path, vs: str, option: str) -> None:
    folder = small_export(tmp_path / "export")
    target = tmp_path / "nowhere" / "file"
    result = invoke(vs, str(folder), option, str(target))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"needlewise: {target}: {option} names a folder that does not exist\n"
