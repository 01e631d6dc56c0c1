"""bulk-screen on a Dask LocalCluster (2 worker processes, loopback) gives the in-process
result byte for byte: the same results file and the same summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from needlewise.cli import main
from support.bulk_export import EPILEPSY_SCT, condition, patient, write_export

pytestmark = pytest.mark.timeout(180)


def run(vs: str, folder: Path, out: Path, *extra: str) -> tuple[int, bytes, bytes]:
    summary = out.with_suffix(".summary.json")
    args = ["--valuesets", vs, "bulk-screen", str(folder), "--as-of", "2026-11-26"]
    args += ["--out", str(out), "--summary", str(summary), "--partitions", "6", *extra]
    result = CliRunner().invoke(main, args)
    return result.exit_code, out.read_bytes(), summary.read_bytes()


def test_local_cluster_equals_in_process(
    tmp_path: Path, valuesets_dir: Path, conformance_dir: Path
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(conformance_dir / "bulk-ndjson", folder)
    # and some synthetic patients, one with a broken line, so skipped lines are compared too
    write_export(
        folder,
        {
            "Patient.900.ndjson": [patient(f"syn-{i}", "2012-01-01") for i in range(40)]
            + [b"{broken"],
            "Condition.900.ndjson": [
                condition(f"c{i}", f"syn-{i}", EPILEPSY_SCT, "Epilepsy") for i in range(0, 40, 3)
            ],
        },
    )
    vs = str(valuesets_dir.resolve())
    alone = run(vs, folder, tmp_path / "alone.ndjson")
    dask = run(vs, folder, tmp_path / "dask.ndjson", "--workers", "2")
    assert alone[0] == dask[0] == 3  # the broken line
    assert alone[1] == dask[1]
    assert alone[2] == dask[2]
    assert alone[1].count(b"\n") == 13 + 40
