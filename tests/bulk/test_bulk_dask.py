"""bulk-screen on a Dask LocalCluster (2 worker processes, loopback) gives the in-process
result byte for byte: the same results file and the same summary. Both ways of reaching
workers are run: ``--workers 2`` (a cluster of its own; partitions read from the shared
temporary folder) and ``--dask ADDRESS`` of a running cluster (partitions shipped)."""

from __future__ import annotations

import importlib
import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from needlewise.cli import main
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.bulk.cluster import DaskRunner
from needlewise.services.bulk.run import BulkError, bulk_screen
from support.bulk_export import EPILEPSY_SCT, condition, patient, write_export

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    distributed: Any = importlib.import_module("distributed")  # untyped
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory, conformance_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("bulk") / "export"
    shutil.copytree(conformance_dir / "bulk-ndjson", folder)
    # and some synthetic patients, one broken line, so skipped lines are compared too
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
    return folder


def run(vs: Path, folder: Path, out: Path, *extra: str) -> tuple[int, bytes, bytes]:
    summary = out.with_suffix(".summary.json")
    args = ["--valuesets", str(vs.resolve()), "bulk-screen", str(folder), "--as-of", "2026-11-26"]
    args += ["--out", str(out), "--summary", str(summary), "--partitions", "6", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output  # the broken line
    return result.exit_code, out.read_bytes(), summary.read_bytes()


def test_own_local_cluster_equals_in_process(
    tmp_path: Path, valuesets_dir: Path, export: Path
) -> None:
    alone = run(valuesets_dir, export, tmp_path / "alone.ndjson")
    dask = run(valuesets_dir, export, tmp_path / "dask.ndjson", "--workers", "2")
    assert alone == dask
    assert alone[1].count(b"\n") == 13 + 40
    assert (
        b'"patient":"Patient/syn-0","decision":"review","findings":[{"rule":"contraindication.epilepsy"'
        in alone[1]
    )


def test_running_cluster_equals_in_process(
    tmp_path: Path, valuesets_dir: Path, export: Path, scheduler: str
) -> None:
    alone = run(valuesets_dir, export, tmp_path / "alone.ndjson")
    shipped = run(valuesets_dir, export, tmp_path / "shipped.ndjson", "--dask", scheduler)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    shared = ["--dask", scheduler, "--shared-temp", "--temp-dir", str(scratch)]
    read_there = run(valuesets_dir, export, tmp_path / "shared.ndjson", *shared)
    assert alone == shipped == read_there
    assert list(scratch.iterdir()) == []


def test_a_worker_with_other_knowledge_stops_the_run(
    tmp_path: Path, kb: KnowledgeBase, export: Path, scheduler: str
) -> None:
    """Workers told to load no value sets screen with other knowledge than this process
    (which has them): the run stops rather than mix decisions, and leaves nothing."""
    distributed: Any = importlib.import_module("distributed")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with distributed.Client(scheduler) as client:
        runner = DaskRunner(client, None)
        with pytest.raises(BulkError, match="a worker screened with other knowledge"):
            bulk_screen(
                export, kb, io.BytesIO(), as_of=date(2026, 11, 26), runner=runner, workdir=scratch
            )
    assert list(scratch.iterdir()) == []
