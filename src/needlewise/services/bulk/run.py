"""Use case: screen every patient of a FHIR Bulk Data export, in patient order.

1. List the export's files (:func:`~needlewise.services.bulk.export.find_export`).
2. Stream them once into ``N`` partition files by patient, in a temporary folder
   (:func:`~needlewise.services.bulk.partition.partition_export`; on Dask with shared
   storage the workers read one file each into shards of the same partitions).
3. Screen the partitions one at a time in this process, or on Dask workers
   (:class:`~needlewise.services.bulk.cluster.DaskRunner`); each partition's results,
   sorted by patient, go to a results file beside it.
4. Merge the sorted results files into the output (a k-way merge: one line per file in
   memory), so the output is in patient-reference order whoever screened what.

The temporary folder is removed when the run ends, also on an error or Ctrl-C. Memory
holds one partition at a time (one per in-flight task on Dask), never the export.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Callable, Generator
from contextlib import ExitStack, closing
from datetime import date
from pathlib import Path
from typing import BinaryIO, Protocol

from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.bulk.export import Export, find_export
from needlewise.services.bulk.partition import (
    PartitionStats,
    choose_partitions,
    partition_export,
)
from needlewise.services.bulk.screen_partition import (
    PartitionOutcome,
    knowledge_of,
    screen_partition_file,
)
from needlewise.services.bulk.summary import Summary

OnDone = Callable[[int, PartitionOutcome], None]


class BulkError(Exception):
    """The run cannot go on for a reason outside the export (a cluster that cannot be
    reached, a worker screening with different knowledge). The message says which."""


class Progress(Protocol):
    """What the run reports as it goes (the CLI draws a bar on a terminal)."""

    def stage(self, label: str, total: int) -> None:
        """A new stage begins with ``total`` units (bytes, then partitions)."""

    def advance(self, units: int) -> None:
        """``units`` more are done."""

    def done(self) -> None:
        """The stage is over."""


class PartitionRunner(Protocol):
    """Partitions an export, then screens the partitions and hands each outcome to
    ``on_done`` (in any order). A partition is a list of files read in order."""

    def partition(
        self, export: Export, folder: Path, count: int, on_bytes: Callable[[int], None] | None
    ) -> tuple[list[list[Path]], PartitionStats]: ...

    def run(self, partitions: list[list[Path]], as_of: date, on_done: OnDone) -> None: ...


class InProcess:
    """Read the export and screen the partitions one after another in this process."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def partition(
        self, export: Export, folder: Path, count: int, on_bytes: Callable[[int], None] | None
    ) -> tuple[list[list[Path]], PartitionStats]:
        return partition_export(export.files, self.kb.codes, folder, count, on_bytes)

    def run(self, partitions: list[list[Path]], as_of: date, on_done: OnDone) -> None:
        for index, paths in enumerate(partitions):
            on_done(index, screen_partition_file(paths, self.kb, as_of))


def _results(path: Path) -> Generator[tuple[bytes, bytes], None, None]:
    with path.open("rb") as handle:
        for line in handle:
            key, result = line.split(b"\t", 1)
            yield key, result


def bulk_screen(
    folder: Path,
    kb: KnowledgeBase,
    out: BinaryIO,
    *,
    as_of: date,
    runner: PartitionRunner | None = None,
    partitions: int | None = None,
    workdir: Path | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Screen the export in ``folder``; write one result line per patient to ``out``.

    Raises ``InputError`` when the folder is unusable (missing, empty, no NDJSON) and
    :class:`BulkError` when a runner fails. Skipped lines are in the returned summary.
    """
    export = find_export(folder)
    count = partitions or choose_partitions(export.total_bytes)
    runner = runner or InProcess(kb)
    stamp = knowledge_of(kb)
    with tempfile.TemporaryDirectory(prefix="needlewise-bulk-", dir=workdir) as temp:
        scratch = Path(temp)
        if progress is not None:
            progress.stage("Reading", export.total_bytes)
        paths, stats = runner.partition(
            export, scratch, count, progress.advance if progress else None
        )
        if progress is not None:
            progress.done()
        summary = Summary(export, as_of, count, stats, stamp)
        result_paths = [scratch / f"r.{i:04d}" for i in range(count)]

        def on_done(index: int, outcome: PartitionOutcome) -> None:
            if outcome.knowledge != stamp:
                raise BulkError(
                    f"a worker screened with other knowledge ({outcome.knowledge.get('version')}, "
                    f"sha256 {str(outcome.knowledge.get('sha256'))[:12]}, value sets sha256 "
                    f"{str(outcome.knowledge.get('value_sets_sha256'))[:12]}) than this "
                    f"process ({stamp['version']}, sha256 {stamp['sha256'][:12]}, value sets "
                    f"sha256 {stamp['value_sets_sha256'][:12]}): install the same needlewise "
                    "version and value-set folder on every worker"
                )
            result_paths[index].write_bytes(outcome.results)
            for path in paths[index]:  # the partition is done: free the disk early
                path.unlink(missing_ok=True)
            summary.add(outcome)
            if progress is not None:
                progress.advance(1)

        if progress is not None:
            progress.stage("Screening", count)
        runner.run(paths, as_of, on_done)
        if progress is not None:
            progress.done()
        missing = [p.name for p in result_paths if not p.exists()]
        if missing:
            raise BulkError(f"{len(missing)} partitions were not screened")
        with ExitStack() as stack:
            streams = [stack.enter_context(closing(_results(p))) for p in result_paths]
            for _key, result in heapq.merge(*streams):
                out.write(result)
        out.flush()
    return summary
