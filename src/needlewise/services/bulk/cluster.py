"""Screen partitions on a Dask cluster (``--dask ADDRESS`` or ``--workers N``).

Without shared storage, this process reads the export and partitions are **shipped as
bytes** to the workers (``client.scatter``), so a remote cluster needs no filesystem in
common with the machine running ``bulk-screen``; at most ``in_flight`` partitions are in
the air at once, so the caller's memory stays bounded. With shared storage (a local
cluster, or ``--shared-temp``) the workers also read the export, one task per file, each
writing its own shards (:func:`~needlewise.services.bulk.partition.partition_file`), and
read the partitions where they are.

Each worker loads the knowledge base once per process (``load_cached``) from the
value-set folder path given here, which must exist at the same path on the workers; each
outcome carries the worker's knowledge stamp and the run refuses one that differs.

Dask is imported only here, and only when a cluster is asked for.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from needlewise.knowledge.loader import load_cached
from needlewise.services.bulk.export import Export, ExportFile
from needlewise.services.bulk.partition import (
    PartitionStats,
    merge_stats,
    partition_export,
    partition_file,
    shards_of,
)
from needlewise.services.bulk.run import BulkError, OnDone
from needlewise.services.bulk.screen_partition import (
    PartitionOutcome,
    read_partition,
    screen_partition_bytes,
    screen_partition_path,
)

CONNECT_TIMEOUT = 15.0  # seconds


@contextmanager
def connect(
    address: str | None = None, workers: int | None = None, timeout: float = CONNECT_TIMEOUT
) -> Iterator[Any]:
    """A ``distributed.Client``: to the scheduler at ``address``, or to a new
    ``LocalCluster`` of ``workers`` processes on loopback (closed on exit). ``timeout``:
    seconds to wait for the scheduler."""
    try:
        distributed: Any = importlib.import_module("distributed")  # untyped: keep it Any
    except ImportError:
        raise BulkError(
            "Dask is not installed: install needlewise[dask] (dask and distributed)"
        ) from None
    if address is not None:
        try:
            client = distributed.Client(address, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise BulkError(
                f"cannot reach the Dask scheduler at {address} ({type(exc).__name__})"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = distributed.LocalCluster(
        n_workers=workers or 2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,  # worker errors reach us as task exceptions
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def warm_up(valuesets_dir: str | None) -> str:
    """Load the knowledge base into a worker process's cache (``load_cached``)."""
    return load_cached(Path(valuesets_dir) if valuesets_dir is not None else None).sha256


class DaskRunner:
    """Screen partitions as tasks on a Dask cluster, ``in_flight`` at a time.

    ``shared_storage``: the workers see the partition files at the same paths (a local
    cluster, or a temporary folder on a shared filesystem), so tasks carry the path and
    the workers read the file; otherwise the partition's bytes are shipped.
    """

    def __init__(
        self,
        client: Any,
        valuesets_dir: Path | None,
        in_flight: int = 0,
        *,
        shared_storage: bool = False,
    ) -> None:
        self.client = client
        self.shared_storage = shared_storage
        self.valuesets = str(valuesets_dir) if valuesets_dir is not None else None
        workers = list(client.scheduler_info().get("workers", {}))
        self.in_flight = in_flight or 2 * max(len(workers), 1)
        # each worker loads the knowledge base now, while this process partitions (kept
        # referenced: a released pending future would be cancelled)
        self.warming = [
            client.submit(
                warm_up, self.valuesets, workers=[w], pure=False, key=f"warm-{w}-{id(self)}"
            )
            for w in workers
        ]

    def partition(
        self, export: Export, folder: Path, count: int, on_bytes: Callable[[int], None] | None
    ) -> tuple[list[list[Path]], PartitionStats]:
        """With shared storage the workers read the export files, one task per file,
        each writing its own shards; otherwise this process reads them."""
        if not self.shared_storage:
            kb = load_cached(Path(self.valuesets) if self.valuesets is not None else None)
            return partition_export(export.files, kb.codes, folder, count, on_bytes)
        by_index: dict[int, PartitionStats] = {}

        def submit(export_file: ExportFile) -> Any:
            return self.client.submit(
                partition_file_task,
                str(export_file.path.resolve()),  # workers need not share our cwd
                export_file.index,
                str(folder.resolve()),
                count,
                self.valuesets,
                key=f"needlewise-bulk-read-{uuid.uuid4().hex[:12]}-{export_file.index}",
                pure=False,
            )

        def collect(export_file: ExportFile, stats: PartitionStats) -> None:
            by_index[export_file.index] = stats
            if on_bytes is not None:
                on_bytes(export_file.path.stat().st_size)

        self._bounded(list(export.files), submit, collect, "reading")
        stats = merge_stats([by_index[i] for i in sorted(by_index)])
        return shards_of(folder, count), stats

    def run(self, partitions: list[list[Path]], as_of: date, on_done: OnDone) -> None:
        run_id = uuid.uuid4().hex[:12]

        def submit(item: tuple[int, list[Path]]) -> Any:
            index, paths = item
            function: Callable[..., PartitionOutcome]
            if self.shared_storage:
                function, data = screen_partition_path, [str(p.resolve()) for p in paths]
            else:
                data = self.client.scatter(read_partition(paths), hash=False)
                function = screen_partition_bytes
            return self.client.submit(
                function,
                data,
                self.valuesets,
                as_of.isoformat(),
                key=f"needlewise-bulk-{run_id}-{index}",
                pure=False,
                retries=1,
            )

        def collect(item: tuple[int, list[Path]], outcome: PartitionOutcome) -> None:
            on_done(item[0], outcome)

        self._bounded(list(enumerate(partitions)), submit, collect, "screening")

    def _bounded(
        self,
        items: list[Any],
        submit: Callable[[Any], Any],
        collect: Callable[[Any, Any], None],
        what: str,
    ) -> None:
        """Run a task per item, at most ``in_flight`` at once; ``collect`` each result."""
        as_completed: Any = importlib.import_module("distributed").as_completed
        queue = iter(items)
        item_of: dict[Any, Any] = {}
        done = as_completed()

        def next_task() -> None:
            item = next(queue, None)
            if item is not None:
                future = submit(item)
                item_of[future] = item
                done.add(future)

        for _ in range(self.in_flight):
            next_task()
        for future in done:
            item = item_of.pop(future)
            try:
                result = future.result()
            except Exception as exc:
                raise BulkError(
                    f"{what} failed on a worker ({type(exc).__name__}); check that every "
                    "worker has needlewise[dask] at this version and sees the same paths"
                ) from None
            future.release()
            collect(item, result)
            next_task()


def partition_file_task(
    path: str, index: int, folder: str, partitions: int, valuesets_dir: str | None
) -> PartitionStats:
    """The Dask task that reads one export file into shards (shared storage only)."""
    kb = load_cached(Path(valuesets_dir) if valuesets_dir is not None else None)
    return partition_file(ExportFile(index, Path(path)), kb.codes, Path(folder), partitions)
