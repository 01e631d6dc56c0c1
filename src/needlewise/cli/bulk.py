"""``needlewise bulk-screen DIR``: screen every patient of a FHIR Bulk Data export.

Exit codes: 0 every line read and every patient screened; 3 finished, but some lines
were skipped (each is listed on stderr as ``file:line: reason`` and in the summary);
2 unusable input (the folder is missing, empty or holds no NDJSON; bad options);
4 the Dask cluster cannot be used (unreachable, workers with other knowledge);
130 interrupted (Ctrl-C or SIGTERM: temporary files removed, no results file left);
1 internal error. Dask is imported only with ``--dask`` or ``--workers``.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import click

from needlewise.cli.base import EXIT_INPUT, Context, guarded, main

EXIT_SKIPPED = 3
EXIT_CLUSTER = 4
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM, as a shell reports SIGINT


def progress_wanted(stream: object, enabled: bool) -> bool:
    """Draw a progress bar only when asked (the default) and ``stream`` is a terminal:
    never into a pipe or a log file."""
    if not enabled:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Bar:
    """:class:`needlewise.services.bulk.run.Progress` drawn with ``click.progressbar``
    on stderr."""

    def __init__(self) -> None:
        self.bar: Any = None

    def stage(self, label: str, total: int) -> None:
        unit = "bytes" if label == "Reading" else "partitions"
        self.bar = click.progressbar(
            length=max(total, 1), label=f"{label} ({unit})", file=sys.stderr, width=30
        )
        self.bar.__enter__()

    def advance(self, units: int) -> None:
        if self.bar is not None:
            self.bar.update(units)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so temporary files are removed on SIGTERM too


@main.command("bulk-screen")
@click.argument("folder", metavar="DIR")
@click.option(
    "--out",
    "out_path",
    metavar="FILE",
    default="-",
    show_default=True,
    help="Results NDJSON file (one line per patient); - for stdout.",
)
@click.option(
    "--summary",
    "summary_path",
    metavar="FILE",
    default=None,
    help="Also write the summary as JSON here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    metavar="DATE",
    help="Screening date, YYYY-MM-DD (default today); fix it for reproducible runs.",
)
@click.option(
    "--dask",
    "dask_address",
    default=None,
    metavar="ADDRESS",
    help="Screen on the Dask scheduler at ADDRESS (tcp://host:8786).",
)
@click.option(
    "--dask-timeout",
    type=click.FloatRange(0.1, 600),
    metavar="SECONDS",
    default=15.0,
    show_default=True,
    help="Seconds to wait for the Dask scheduler.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    metavar="N",
    default=None,
    help="Screen on a local Dask cluster of N worker processes.",
)
@click.option(
    "--partitions",
    type=click.IntRange(1, 512),
    metavar="N",
    default=None,
    help="Number of partitions (default: from the export's size).",
)
@click.option(
    "--temp-dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    default=None,
    help="Folder for the partition files (default: the system's temporary folder).",
)
@click.option(
    "--shared-temp",
    is_flag=True,
    help="With --dask: the workers see --temp-dir at the same path (a shared filesystem), "
    "so partitions are read there instead of shipped.",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help="Progress bar on stderr (only ever drawn on a terminal).",
)
@click.pass_obj
@guarded
def bulk_screen(
    obj: Context,
    folder: str,
    out_path: str,
    summary_path: str | None,
    as_json: bool,
    as_of: Any,
    dask_address: str | None,
    dask_timeout: float,
    workers: int | None,
    partitions: int | None,
    temp_dir: Path | None,
    shared_temp: bool,
    progress: bool,
) -> None:  # fmt: skip
    """Screen every patient of a FHIR Bulk Data export folder.

    DIR holds NDJSON files per resource type (Patient.000.ndjson, Condition.000.ndjson,
    MedicationRequest…, AllergyIntolerance…, Observation…); a patient's resources may be
    spread across files. Results are written one line per patient, sorted by patient
    reference; the summary goes to stdout (to stderr when the results go to stdout).
    Malformed lines are listed on stderr as FILE:LINE: reason and skipped. See
    docs/bulk-screen.md.

    Exit codes: 0 all read and screened; 3 finished with skipped lines; 2 unusable input
    (DIR missing, empty, no NDJSON; bad options); 4 the Dask cluster cannot be used;
    130 interrupted (temporary files removed); 1 internal error.
    """
    from needlewise.services.bulk.run import BulkError, bulk_screen

    if dask_address is not None and workers is not None:
        click.echo("needlewise: give --dask or --workers, not both", err=True)
        sys.exit(EXIT_INPUT)
    if shared_temp and (dask_address is None or temp_dir is None):
        click.echo("needlewise: --shared-temp needs --dask and --temp-dir", err=True)
        sys.exit(EXIT_INPUT)
    for option, target in (("--out", out_path), ("--summary", summary_path)):
        if target not in (None, "-") and not Path(target).resolve().parent.is_dir():
            click.echo(
                f"needlewise: {target}: {option} names a folder that does not exist", err=True
            )
            sys.exit(EXIT_INPUT)
    if temp_dir is not None and not temp_dir.is_dir():
        click.echo(f"needlewise: {temp_dir}: --temp-dir is not a folder", err=True)
        sys.exit(EXIT_INPUT)
    day: date = as_of.date() if as_of is not None else date.today()
    kb = obj.kb()
    bar = _Bar() if progress_wanted(sys.stderr, progress) else None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    # A regular file is written whole or not at all (a ".partial" file renamed at the
    # end). Anything else (a device such as /dev/null, a pipe) is written in place:
    # renaming onto it would replace the device with a file.
    out_file = Path(out_path)
    atomic = out_path != "-" and (not out_file.exists() or out_file.is_file())
    partial = Path(out_path + ".partial") if atomic else None
    try:
        with ExitStack() as stack:
            out = sys.stdout.buffer
            if out_path != "-":
                try:
                    writing = partial if partial is not None else out_file
                    out = stack.enter_context(writing.open("wb"))
                except OSError as exc:
                    click.echo(f"needlewise: {out_path}: cannot write ({exc.strerror})", err=True)
                    sys.exit(EXIT_INPUT)
            runner = None
            if dask_address is not None or workers is not None:
                from needlewise.services.bulk.cluster import DaskRunner, connect

                client = stack.enter_context(connect(dask_address, workers, dask_timeout))
                valuesets = obj.valuesets_dir.resolve() if obj.valuesets_dir else None
                runner = DaskRunner(
                    client, valuesets, shared_storage=workers is not None or shared_temp
                )
            summary = bulk_screen(
                Path(folder), kb, out, as_of=day, runner=runner, partitions=partitions,
                workdir=temp_dir, progress=bar,
            )  # fmt: skip
        if partial is not None:
            os.replace(partial, out_path)
    except BulkError as exc:
        click.echo(f"needlewise: {exc}", err=True)
        sys.exit(EXIT_CLUSTER)
    except KeyboardInterrupt:
        if bar is not None:
            bar.done()
            bar = None
        click.echo("needlewise: interrupted; temporary files removed, no results written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if partial is not None and partial.exists():
            partial.unlink()
        if bar is not None:
            bar.done()
    _report(summary, summary_path, as_json, to_stderr=out_path == "-")
    if summary.lines_skipped:
        sys.exit(EXIT_SKIPPED)


def _report(summary: Any, summary_path: str | None, as_json: bool, *, to_stderr: bool) -> None:
    import orjson

    for problem in summary.all_problems():
        click.echo(f"needlewise: {summary.where(problem)}: {problem.reason}", err=True)
    document = summary.to_json()
    if summary_path is not None:
        Path(summary_path).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    if as_json:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
    else:
        text = summary.to_text()
    click.echo(text, err=to_stderr)
