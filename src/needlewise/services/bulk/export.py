"""Which files of a FHIR Bulk Data export folder bulk screening reads.

An export holds NDJSON files named after their resource type (``Patient.000.ndjson``,
``Condition.001.ndjson``; the Bulk Data spec lets a server name them freely, and most use
``<Type>.<n>.ndjson`` or ``<Type>.ndjson``). The folder is read as follows:

* a file named after a type screening reads (``Patient`` and
  :data:`~needlewise.interop.fhir.records.SCREENED_TYPES`) is read line by line;
* a file named after another type (``Encounter``, ``Claim``, …) is not opened: nothing in
  it can change a screening decision; it is listed in the summary as not read;
* ``OperationOutcome`` files (the export's error report) and ``log.ndjson`` (an export
  client's log) are not resources to screen; they are listed with that reason;
* a ``.ndjson`` file whose name names no type is read, and each line is routed by its
  own ``resourceType``;
* anything else (``manifest.json``, compressed files) is listed as not read.

Files are read in name order, so runs are reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from needlewise.errors import InputError
from needlewise.interop.fhir.records import SCREENED_TYPES

#: resource types whose lines are routed to a patient's partition
READ_TYPES = frozenset(SCREENED_TYPES | {"Patient"})
_TYPED_NAME = re.compile(r"^([A-Z][A-Za-z]+)(?:[._-].*)?\.ndjson$")


@dataclass(frozen=True)
class ExportFile:
    """One NDJSON file to read; ``index`` is its position in name order."""

    index: int
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class IgnoredFile:
    """A file of the folder that is not read, with the reason (for the summary)."""

    name: str
    reason: str


@dataclass(frozen=True)
class Export:
    """The files of one export folder: those read, and those not read with a reason."""

    files: tuple[ExportFile, ...]
    ignored: tuple[IgnoredFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.path.stat().st_size for f in self.files)


def _reason_to_skip(name: str) -> str | None:
    if name == "log.ndjson":
        return "export log, not FHIR resources"
    if not name.endswith(".ndjson"):
        if name.endswith((".ndjson.gz", ".ndjson.bz2", ".ndjson.zst")):
            return "compressed NDJSON is not read; decompress it first"
        return "not an NDJSON file"
    typed = _TYPED_NAME.match(name)
    if typed is None:
        return None  # read, each line routed by its resourceType
    kind = typed.group(1)
    if kind == "OperationOutcome":
        return "the export's error report (OperationOutcome), not patient data"
    if kind not in READ_TYPES:
        return f"{kind} is not read by screening"
    return None


def find_export(folder: Path) -> Export:
    """List what to read in ``folder``. Raises ``InputError`` when the folder is missing,
    is not a folder, is empty, or holds no NDJSON file of a type screening reads."""
    if not folder.exists():
        raise InputError("no such folder", str(folder))
    if not folder.is_dir():
        raise InputError("is not a folder; expected a FHIR Bulk Data export folder", str(folder))
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise InputError(f"cannot list the folder ({exc.strerror})", str(folder)) from None
    if not entries:
        raise InputError("the folder is empty; expected FHIR Bulk Data NDJSON files", str(folder))
    files: list[ExportFile] = []
    ignored: list[IgnoredFile] = []
    for path in entries:
        if path.is_dir():
            ignored.append(IgnoredFile(path.name, "a folder (sub-folders are not read)"))
            continue
        reason = _reason_to_skip(path.name)
        if reason is None:
            files.append(ExportFile(len(files), path))
        else:
            ignored.append(IgnoredFile(path.name, reason))
    if not files:
        names = ", ".join(sorted(READ_TYPES))
        raise InputError(
            f"no NDJSON file to screen (expected files such as Patient.000.ndjson; "
            f"types read: {names})",
            str(folder),
        )
    return Export(tuple(files), tuple(ignored))
