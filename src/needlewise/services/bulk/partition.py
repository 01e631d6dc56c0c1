"""Stream an export once and route each resource to a partition file by its patient.

Every line of every file read is parsed once (orjson) to learn its type and its patient,
then written **as its original bytes** (never re-serialised) to one of ``N`` partition
files chosen by ``crc32(patient key) % N``. A partition file line is::

    <patient key> TAB <file index> TAB <line number> TAB <the original line>

(or nothing after the last TAB: a marker that the patient exists, written for a resource
that is dropped, see below), so the screening step can group a patient's resources and still report a problem with
the file and line it came from. Memory holds one line at a time (plus ``N`` write
buffers), however large the export.

Resources that cannot fire any rule (the cheap check of
:mod:`needlewise.interop.fhir.prefilter`, the same one the Bundle reader applies) are
counted and dropped here, so the screening step parses only what matters; the patient
it refers to still gets a marker, so every patient with a Patient resource or a screened
resource has a result line. Patient resources are always kept (the birth date).

A line that cannot be routed is a :class:`LineProblem` (file, line, reason); the reason
never quotes the line, which may hold patient data.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from needlewise.interop.fhir.prefilter import may_fire
from needlewise.interop.fhir.records import SCREENED_TYPES
from needlewise.knowledge.codeindex import CodeIndex
from needlewise.services.bulk.export import ExportFile

#: input bytes per partition the choice of ``N`` aims at
TARGET_PARTITION_BYTES = 16 * 1024 * 1024
MIN_PARTITIONS = 8
MAX_PARTITIONS = 512  # one open file each while partitioning
_BUFFER = 64 * 1024
_REPORT_EVERY = 4096  # lines between progress reports
_MARKED = 65536  # recent patient keys remembered per file (bounded memory)

_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number"}


@dataclass(frozen=True, order=True)
class LineProblem:
    """A line that was skipped: ``file`` is the export file's index, ``line`` 1-based."""

    file: int
    line: int
    reason: str


@dataclass
class PartitionStats:
    """What the partitioning pass read."""

    lines: dict[int, int] = field(default_factory=dict)  # file index -> lines read
    resources_read: int = 0
    resources_kept: int = 0
    not_screened: dict[str, int] = field(default_factory=dict)  # resourceType -> lines
    problems: list[LineProblem] = field(default_factory=list)
    bytes_read: int = 0


class _Unroutable(Exception):
    """The line cannot be given to a patient (the message is the reason)."""


def choose_partitions(total_bytes: int) -> int:
    """``N`` so a partition holds about :data:`TARGET_PARTITION_BYTES` of input."""
    wanted = math.ceil(total_bytes / TARGET_PARTITION_BYTES)
    return max(MIN_PARTITIONS, min(MAX_PARTITIONS, wanted))


def partition_of(key: bytes, partitions: int) -> int:
    """The partition of a patient key: stable across processes and machines."""
    return zlib.crc32(key) % partitions


def reference_key(reference: str) -> str:
    """Comparable key of a reference, as the Bundle reader compares them: ``urn:uuid:x``
    as is, a relative or absolute URL as ``Type/id`` (a ``_history`` suffix dropped)."""
    if reference.startswith("urn:"):
        return reference
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return "/".join(parts[-2:])


def patient_key(kind: str, resource: dict[str, Any]) -> str:
    """The patient a resource belongs to. Raises :class:`_Unroutable` with the reason."""
    if kind == "Patient":
        rid = resource.get("id")
        if type(rid) is not str or not rid:
            raise _Unroutable("Patient without an id")
        key = f"Patient/{rid}"
    else:
        holder = resource.get("subject")
        field_name = "subject"
        if holder is None:
            holder, field_name = resource.get("patient"), "patient"
        if holder is None:
            raise _Unroutable(f"{kind} without a subject or patient reference")
        reference = holder.get("reference") if type(holder) is dict else None
        if type(reference) is not str or not reference or reference.startswith("#"):
            raise _Unroutable(f"{kind}.{field_name} has no usable patient reference")
        key = reference_key(reference)
        if not (key.startswith("Patient/") or key.startswith("urn:")):
            target = key.split("/", 1)[0]
            raise _Unroutable(f"{kind}.{field_name} refers to a {target}, not a Patient")
    if "\t" in key or "\n" in key or "\r" in key:
        raise _Unroutable("the patient reference holds a tab or a line break")
    return key


def _route(resource: Any, codes: CodeIndex, stats: PartitionStats) -> tuple[bytes | None, bool]:
    """The patient key of a parsed line (``None`` for a type screening does not read) and
    whether to keep the line (``False``: it cannot fire). Raises ``_Unroutable``."""
    if type(resource) is not dict:
        found = "null" if resource is None else _JSON_KINDS.get(type(resource), "a value")
        if type(resource) is bool:
            found = "a boolean"
        raise _Unroutable(f"not a JSON object (found {found})")
    kind = resource.get("resourceType")
    if type(kind) is not str or not kind:
        raise _Unroutable("no resourceType")
    if kind != "Patient" and kind not in SCREENED_TYPES:
        stats.not_screened[kind] = stats.not_screened.get(kind, 0) + 1
        return None, False
    key = patient_key(kind, resource).encode()
    stats.resources_read += 1
    if kind != "Patient" and not may_fire(kind, resource, codes):
        return key, False
    stats.resources_kept += 1
    return key, True


def partition_export(
    files: tuple[ExportFile, ...],
    codes: CodeIndex,
    folder: Path,
    partitions: int,
    on_bytes: Callable[[int], None] | None = None,
) -> tuple[list[list[Path]], PartitionStats]:
    """Write ``partitions`` files ``p.NNNN`` into ``folder``, reading the files one after
    another; return each partition's files (one each) and the stats."""
    stats = PartitionStats()
    paths = [folder / f"p.{i:04d}" for i in range(partitions)]
    handles = [path.open("wb", buffering=_BUFFER) for path in paths]
    try:
        for export_file in files:
            _partition_file(export_file, codes, handles, stats, on_bytes)
    finally:
        for handle in handles:
            handle.close()
    return [[path] for path in paths], stats


def partition_file(
    export_file: ExportFile, codes: CodeIndex, folder: Path, partitions: int
) -> PartitionStats:
    """Partition one file into shards ``p.NNNN.FFFFF`` (partition, file index) in
    ``folder``, so several files can be read at once (on Dask workers). A partition's
    shards read in file order hold exactly the lines :func:`partition_export` writes."""
    stats = PartitionStats()
    paths = [folder / f"p.{i:04d}.{export_file.index:05d}" for i in range(partitions)]
    handles = [path.open("wb", buffering=_BUFFER) for path in paths]
    try:
        _partition_file(export_file, codes, handles, stats, None)
    finally:
        for handle in handles:
            handle.close()
    for path in paths:
        if path.stat().st_size == 0:
            path.unlink()
    return stats


def shards_of(folder: Path, partitions: int) -> list[list[Path]]:
    """Each partition's shards (written by :func:`partition_file`), in file order."""
    found: list[list[Path]] = [[] for _ in range(partitions)]
    for path in sorted(folder.glob("p.*.*")):
        found[int(path.name.split(".")[1])].append(path)
    return found


def merge_stats(parts: list[PartitionStats]) -> PartitionStats:
    """The stats of several files' passes (in file order) as one."""
    merged = PartitionStats()
    for part in parts:
        merged.lines.update(part.lines)
        merged.resources_read += part.resources_read
        merged.resources_kept += part.resources_kept
        for kind, count in part.not_screened.items():
            merged.not_screened[kind] = merged.not_screened.get(kind, 0) + count
        merged.problems.extend(part.problems)
        merged.bytes_read += part.bytes_read
    return merged


def _partition_file(
    export_file: ExportFile,
    codes: CodeIndex,
    handles: list[Any],
    stats: PartitionStats,
    on_bytes: Callable[[int], None] | None,
) -> None:
    """Route every line of one file. The usual line (a screened resource whose
    ``subject`` is a relative ``Patient/<id>`` reference) takes an inlined fast path with
    the same checks as :func:`patient_key`; anything else goes through :func:`_route`."""
    index = export_file.index
    partitions = len(handles)
    writes = [handle.write for handle in handles]
    loads, decode_error, crc32 = orjson.loads, orjson.JSONDecodeError, zlib.crc32
    screened = SCREENED_TYPES
    problems = stats.problems
    read = kept = 0
    marked: set[bytes] = set()
    pending = 0
    number = 0
    with export_file.path.open("rb") as source:
        for number, line in enumerate(source, 1):
            pending += len(line)
            if number % _REPORT_EVERY == 0 and on_bytes is not None:
                on_bytes(pending)
                stats.bytes_read += pending
                pending = 0
            if line[0] != 123 and not line.strip():  # 123: "{"
                continue  # a blank line (e.g. at the end of the file) holds nothing
            try:
                resource = loads(line)
            except decode_error:
                problems.append(LineProblem(index, number, "not valid JSON"))
                continue
            kind = resource.get("resourceType") if type(resource) is dict else None
            holder = resource.get("subject") if type(kind) is str and kind in screened else None
            reference = holder.get("reference") if type(holder) is dict else None
            if (
                type(reference) is str
                and reference.startswith("Patient/")
                and len(reference) > 8
                and reference.find("/", 8) == -1
                and "\t" not in reference
                and "\n" not in reference
                and "\r" not in reference
            ):
                read += 1
                key = reference.encode()
                keep = may_fire(kind, resource, codes)  # type: ignore[arg-type]
                kept += keep
            else:
                try:
                    found, keep = _route(resource, codes, stats)
                except _Unroutable as exc:
                    problems.append(LineProblem(index, number, str(exc)))
                    continue
                if found is None:
                    continue
                key = found
            if not keep:
                # the patient exists even if none of this resource matters: a marker line
                # (no resource) so every referenced patient gets a result; a bounded set
                # of recent keys saves most repeats
                if key not in marked:
                    if len(marked) >= _MARKED:
                        marked.clear()
                    marked.add(key)
                    writes[crc32(key) % partitions](b"%s\t%d\t%d\t\n" % (key, index, number))
                continue
            if line[-1] != 10:  # 10: LF
                line += b"\n"
            writes[crc32(key) % partitions](b"%s\t%d\t%d\t%s" % (key, index, number, line))
    stats.resources_read += read
    stats.resources_kept += kept
    stats.bytes_read += pending
    stats.lines[index] = number
    if on_bytes is not None and pending:
        on_bytes(pending)
