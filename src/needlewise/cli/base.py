"""Shared plumbing of the command line: the click group, error handling, input and output.

Exit codes: 0 success; 2 unusable input (one line on stderr naming the problem and where:
file and JSON path); 1 internal error. Imports of anything slow happen inside commands.

Settings come from the environment (``NEEDLEWISE_*``, ``.env``) unless the caller gives
them as click's ``obj``: ``main.main(args, obj=Settings(...))``, or in a test
``CliRunner().invoke(main, args, obj=Settings(...))``; ``--valuesets`` overrides either.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from needlewise.languages import LANGUAGES

if TYPE_CHECKING:
    from needlewise.config import Settings
    from needlewise.services.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INPUT = 2
EXIT_INTERNAL = 1


class Context:
    """Per-invocation state: the settings in use (``--valuesets`` applied)."""

    def __init__(self, settings: Settings, valuesets: Path | None = None) -> None:
        if valuesets is not None:
            settings = settings.model_copy(update={"valuesets_dir": valuesets})
        self.settings = settings

    @property
    def valuesets_dir(self) -> Path | None:
        return self.settings.valuesets_dir

    def start(self) -> Runtime:
        """The runtime for commands that use stored records: :func:`needlewise.startup.start`
        (creates the schema on a new database; refuses an outdated one)."""
        from needlewise.jobs.port import queue_jobs
        from needlewise.startup import start

        return start(self.settings, jobs=queue_jobs(self.settings))

    def kb(self) -> Any:
        from needlewise.knowledge.loader import load_cached

        folder = self.valuesets_dir.resolve() if self.valuesets_dir is not None else None
        return load_cached(folder)


def _fail(message: str, code: int) -> None:
    click.echo(f"needlewise: {message}", err=True)
    sys.exit(code)


def guarded(func: F) -> F:
    """Turn input errors into exit 2 and anything unexpected into exit 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from needlewise.errors import InputError
        from needlewise.knowledge.loader import KnowledgeError

        source = kwargs.get("file") or kwargs.get("source")
        where = f"{source}: " if source and source != "-" else ("stdin: " if source == "-" else "")
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            _fail(f"{where}{exc}", EXIT_INPUT)
        except KnowledgeError as exc:
            _fail(f"the knowledge base is invalid:\n{exc}", EXIT_INTERNAL)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("NEEDLEWISE_DEBUG"):
                raise
            _fail(
                f"internal error ({type(exc).__name__}); this is a bug. "
                "Set NEEDLEWISE_DEBUG=1 to see the details.",
                EXIT_INTERNAL,
            )

    return wrapper  # type: ignore[return-value]


def read_input(file: str) -> Any:
    """Read and parse JSON from a path or ``-`` (stdin)."""
    from needlewise.errors import InputError
    from needlewise.services.documents import parse_json

    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(file)
        if path.is_dir():
            raise InputError("is a folder; expected a JSON file", "file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the file ({exc.strerror})", "file") from None
    return parse_json(data)


def emit_json(document: object) -> None:
    import orjson

    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def _stamp(knowledge: dict[str, Any]) -> str:
    sets = knowledge["value_sets"]
    return (
        f"knowledge {knowledge['version']} (sha256 {knowledge['sha256'][:12]}), "
        f"value sets loaded: {sets['loaded']}"
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--valuesets",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of FHIR ValueSet JSON (default: NEEDLEWISE_VALUESETS_DIR or ../shared/valuesets).",
)
@click.version_option(package_name="needlewise")
@click.pass_context
def main(ctx: click.Context, valuesets: Path | None) -> None:
    """needlewise: dry-needling safety from screening to aftercare."""
    from needlewise.config import Settings

    settings = ctx.obj  # given as main.main(args, obj=Settings(...)), or None
    if settings is None:
        settings = Settings()  # the environment (NEEDLEWISE_*) and .env
    elif not isinstance(settings, Settings):
        raise TypeError(f"the CLI's obj must be Settings, not {type(settings).__name__}")
    ctx.obj = Context(settings, valuesets)


LANG = click.option(
    "--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
    help="Language of titles and advice.",
)  # fmt: skip
JSON = click.option("--json", "as_json", is_flag=True, help="Print the canonical JSON.")
