"""The ``needlewise`` command line.

Every command calls a use case in ``needlewise.services``; ``--json`` prints the same
canonical JSON the API returns. Exit codes: 0 success; 2 unusable input (one line on
stderr naming the problem and where: file and JSON path); 1 internal error. Imports of
anything slow (FastAPI, uvicorn) happen inside the command that needs them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INPUT = 2
EXIT_INTERNAL = 1


class Context:
    """Per-invocation state: settings and the value-set folder in use."""

    def __init__(self, valuesets: Path | None) -> None:
        from needlewise.config import Settings

        self.settings = Settings()
        self.valuesets_dir = valuesets if valuesets is not None else self.settings.valuesets_dir

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
    ctx.obj = Context(valuesets)


LANG = click.option(
    "--lang", type=click.Choice(["en", "es"]), default="en", show_default=True,
    help="Language of titles and advice.",
)  # fmt: skip
JSON = click.option("--json", "as_json", is_flag=True, help="Print the canonical JSON.")


@main.command()
@click.argument("file")
@click.option(
    "--electrical-stimulation/--no-electrical-stimulation",
    default=None,
    help="Whether electrical stimulation is planned (default: not known, counted as planned).",
)
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Screening date (default today).",
)
@LANG
@JSON
@click.pass_obj
@guarded
def screen(
    obj: Context,
    file: str,
    electrical_stimulation: bool | None,
    as_of: Any,
    lang: str,
    as_json: bool,
) -> None:
    """Screen a patient for contraindications.

    FILE (or - for stdin) is a FHIR R4 Bundle (Patient, Condition, AllergyIntolerance,
    MedicationStatement/Request, Observation, Procedure), an intake
    QuestionnaireResponse, or a Bundle holding both.
    """
    from needlewise.services.screening import screen_document

    day: date | None = as_of.date() if as_of is not None else None
    result = screen_document(
        read_input(file),
        obj.kb(),
        as_of=day,
        electrical_stimulation=electrical_stimulation,
        language=lang,
    ).to_json()
    if as_json:
        emit_json(result)
        return
    from needlewise.messages import message

    click.echo(
        f"Decision: {result['decision'].upper()} - {message('decision.' + result['decision'], lang)}"
    )
    for finding in result["findings"]:
        click.echo(
            f"  [{finding['level']}] {finding['rule']} - {finding['title']} ({finding['certainty']})"
        )
        for line in finding["evidence"]:
            click.echo(f"      - {line}")
        click.echo(f"      sources: {', '.join(finding['sources'])}")
    if result["unanswered"]:
        click.echo(f"Unanswered ({len(result['unanswered'])}): {', '.join(result['unanswered'])}")
    click.echo(_stamp(result["knowledge"]))


@main.command()
@click.argument("file")
@JSON
@click.pass_obj
@guarded
def triage(obj: Context, file: str, as_json: bool) -> None:
    """Triage an after-treatment check-in.

    FILE (or -) is an aftercare QuestionnaireResponse or the triage JSON:
    {"symptoms": [...], "temperature": {"value": 38.2, "unit": "Cel"},
    "hours_since_treatment": 20, "treated_regions": [...], "text": "...", "language": "en"}.
    """
    from needlewise.services.triage import triage_document

    result = triage_document(read_input(file), obj.kb()).to_json()
    if as_json:
        emit_json(result)
        return
    from needlewise.messages import message

    disposition = result["disposition"]
    click.echo(
        f"Disposition: {disposition.upper()} - {message('disposition.' + disposition, result['language'])}"
    )
    for reason in result["reasons"]:
        click.echo(
            f"  [{reason['tier']}] {reason['rule']} - {reason['title']}: {reason['matched']}"
        )
    click.echo("Advice:")
    for paragraph in result["advice"].split("\n\n"):
        click.echo(f"  {paragraph}")
    click.echo(_stamp(result["knowledge"]))


@main.command("code-session")
@click.argument("file")
@JSON
@click.pass_obj
@guarded
def code_session(obj: Context, file: str, as_json: bool) -> None:
    """Derive the CPT line and session checks from the muscles needled.

    FILE (or -) is {"muscles": [{"muscle": "muscle.upper-trapezius", "laterality":
    "left"}], "payer": "medicare"}.
    """
    from needlewise.services.coding import code_session_document

    result = code_session_document(read_input(file), obj.kb()).to_json()
    if as_json:
        emit_json(result)
        return
    for line in result["lines"]:
        click.echo(
            f"CPT {line['code']} x{line['units']} - {line['title']} ({line['muscle_count']} muscle(s))"
        )
    for muscle in result["muscles"]:
        click.echo(f"  {muscle['title']} ({muscle['laterality']})")
    if result["needs_review"]:
        click.echo("Needs review before billing.")
    for check in result["checks"]:
        click.echo(f"Check {check['id']}: {check['text']}")
    for note in result["coverage"]:
        click.echo(f"Coverage {note['id']}: {note['title']}")
    click.echo(_stamp(result["knowledge"]))


@main.command()
@click.argument("state")
@click.option(
    "--profession",
    type=click.Choice(["pt", "acupuncturist", "physician"]),
    default="pt",
    show_default=True,
)
@LANG
@JSON
@click.pass_obj
@guarded
def scope(obj: Context, state: str, profession: str, lang: str, as_json: bool) -> None:
    """May PROFESSION dry-needle in STATE (two-letter code, e.g. CO)?"""
    from needlewise.services.scope import lookup_scope

    result = lookup_scope(obj.kb(), state, profession, lang).to_json()
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"{result['profession_name']} in {result['state_name']}: {result['status']} "
        + (f"(as of {result['as_of']})" if result["as_of"] else "(no dated record)")
    )
    for requirement in result["requirements"]:
        click.echo(f"  - {requirement}")
    if result["note"]:
        click.echo(f"  Note: {result['note']}")
    click.echo(f"  Sources: {', '.join(result['sources'])} [{result['evidence']}]")


@main.command()
@click.argument("which", type=click.Choice(["intake", "aftercare"]))
@LANG
@click.pass_obj
@guarded
def questionnaire(obj: Context, which: str, lang: str) -> None:
    """Print the intake or aftercare FHIR R4 Questionnaire (JSON)."""
    from needlewise.interop.fhir.questionnaire import questionnaire as build

    emit_json(build(obj.kb(), which, lang))


@main.group()
def kb() -> None:
    """Inspect the knowledge base."""


@kb.command("check")
@JSON
@click.pass_obj
@guarded
def kb_check(obj: Context, as_json: bool) -> None:
    """Validate the knowledge base and report every named value set that is missing or empty.

    Exit 0 when valid and complete; 2 when the value-set folder lacks named sets.
    """
    from needlewise.services.knowledge import check

    report = check(obj.kb(), obj.valuesets_dir)
    if as_json:
        emit_json(report)
    else:
        counts = ", ".join(f"{n} {kind}" for kind, n in report["counts"].items() if n)
        click.echo(
            f"Knowledge base {report['version']} (sha256 {report['sha256'][:12]}) is valid: {counts}."
        )
        sets = report["value_sets"]
        found = sum(1 for s in sets["named"] if s["found"] and s["codes"])
        click.echo(
            f"Value-set folder {sets['folder']}: {sets['loaded']} sets loaded; {found} of {len(sets['named'])} named sets found."
        )
        for note in report["notes"]:
            click.echo(f"  note: {note}")
        for problem in report["problems"]:
            click.echo(f"  problem: {problem}", err=True)
    if report["problems"]:
        sys.exit(EXIT_INPUT)


@kb.command("show")
@click.argument("item_id", required=False)
@click.pass_obj
@guarded
def kb_show(obj: Context, item_id: str | None) -> None:
    """Show one item by ID, the items under a prefix (e.g. symptom), or a summary."""
    from needlewise.services.knowledge import show

    emit_json(show(obj.kb(), item_id))


@main.command()
@click.option(
    "--host", default=None, help="Address to bind (default NEEDLEWISE_HOST or 127.0.0.1)."
)
@click.option("--port", type=int, default=None, help="Port (default NEEDLEWISE_PORT or 8000).")
@click.option(
    "--demo",
    is_flag=True,
    help="Load the demo clinic into an empty database and print its logins (never on real data).",
)
@click.pass_obj
def serve(obj: Context, host: str | None, port: int | None, demo: bool) -> None:
    """Start the HTTP API (OpenAPI docs at /docs).

    On a new, empty database the schema is created first. Access logs are off: request
    lines can hold patient names (searches) and patient-link tokens.
    """
    import uvicorn

    from needlewise.docgen import serve_banner

    settings = obj.settings.model_copy(
        update={
            "valuesets_dir": obj.valuesets_dir,
            **({"host": host} if host else {}),
            **({"port": port} if port else {}),
        }
    )
    with database_errors(settings.database_url):
        from needlewise.persistence.migrate import SchemaError
        from needlewise.web.app import create_app

        try:
            app = create_app(settings)
        except SchemaError as exc:
            _fail(str(exc), EXIT_INPUT)
        if demo:
            _demo(app.state.runtime)
    click.echo(serve_banner(settings.host, settings.port))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


def _demo(runtime: Any) -> None:
    from needlewise.services.demo import LOGINS, demo_ready, load_demo

    if load_demo(runtime):
        click.echo("Loaded the demo clinic (synthetic data).")
    if not demo_ready(runtime):
        click.echo("This database already holds a clinic; the demo was not loaded.")
        return
    click.echo("Demo logins (demo passwords; POST them to /api/auth/login):")
    for login in LOGINS:
        click.echo(
            f"  {login.role.value:<11} {login.email:<38} {login.password!r:<28} {login.note}"
        )


@main.group()
def user() -> None:
    """Staff accounts (create the first admin of a new clinic)."""


@user.command("create-admin")
@click.option("--email", required=True, help="The admin's email (their login).")
@click.option("--name", required=True, help="The admin's name.")
@click.option(
    "--clinic", "clinic_name", default=None, help="Clinic name, when the database has none yet."
)
@click.password_option(help="At least 12 characters (asked for when not given).")
@click.pass_obj
@guarded
def create_admin(
    obj: Context, email: str, name: str, clinic_name: str | None, password: str
) -> None:
    """Create an admin account; on a new database, also the clinic (its name is required)."""
    from pydantic import ValidationError

    from needlewise.errors import InputError, ServiceError
    from needlewise.persistence.migrate import ensure_schema
    from needlewise.security.roles import Role
    from needlewise.services import accounts
    from needlewise.services.actor import Actor
    from needlewise.services.clinic import ClinicIn, create_clinic, first_clinic_id
    from needlewise.services.runtime import Runtime

    settings = obj.settings.model_copy(update={"valuesets_dir": obj.valuesets_dir})
    with database_errors(settings.database_url):
        ensure_schema(settings.database_url)
        runtime = Runtime.build(settings)
        clinic_id = first_clinic_id(runtime)
        if clinic_id is None:
            if not clinic_name:
                raise InputError("the database has no clinic yet: give --clinic NAME", "--clinic")
            clinic_id = create_clinic(runtime, ClinicIn(name=clinic_name))
        try:
            data = accounts.UserIn(email=email, name=name, role=Role.admin, password=password)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(str(first["msg"]), f"--{first['loc'][0]}") from None
        system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
        try:
            created = accounts.create_user(runtime, system, data)
        except ServiceError as exc:
            raise InputError(exc.message, "--email") from None
        runtime.db.dispose()
    click.echo(f"Created admin {created.email} (user {created.id}) in clinic {clinic_id}.")


# ------------------------------------------------------------------ operations


@contextmanager
def database_errors(url: str, revision: str | None = None) -> Iterator[None]:
    """Connection, SQL and migration failures as one clear line (exit 2), never a traceback."""
    from alembic.util import CommandError
    from sqlalchemy.exc import DatabaseError

    from needlewise.errors import InputError
    from needlewise.persistence.backup import shown

    try:
        yield
    except DatabaseError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise InputError(f"cannot use the database ({reason})", shown(url)) from None
    except CommandError as exc:
        from needlewise.persistence.backup import revisions

        hint = f"give one of {', '.join(revisions())}, head, base, or a step such as -1"
        reason = str(exc).splitlines()[0].rstrip(".")
        raise InputError(f"{reason}; {hint}", f"revision {revision!r}") from None


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _schema_state(url: str, *, must_exist: bool) -> tuple[Any, list[str]]:
    """(Schema of the database, its other tables). Refuses a missing SQLite file if asked."""
    from sqlalchemy import inspect

    from needlewise.errors import InputError
    from needlewise.persistence.backup import schema
    from needlewise.persistence.db import make_engine, sqlite_path
    from needlewise.persistence.migrate import current

    path = sqlite_path(url)
    if must_exist and path is not None and not path.is_file():
        raise InputError(
            "no database here yet; `needlewise serve` or `needlewise db upgrade` creates it",
            str(path),
        )
    engine = make_engine(url, pool=False)
    try:
        revision = current(engine)
        tables = sorted(set(inspect(engine).get_table_names()) - {"alembic_version"})
    finally:
        engine.dispose()
    return schema(revision), tables


@main.group()
def db() -> None:
    """The database schema: show its revision, upgrade it, downgrade it.

    The database is NEEDLEWISE_DATABASE_URL (default sqlite:///var/needlewise.db). Back
    it up before changing its schema (`needlewise backup PATH`).
    """


@db.command("current")
@JSON
@click.pass_obj
@guarded
def db_current(obj: Context, as_json: bool) -> None:
    """Print the database's schema revision and whether it is the newest."""
    from needlewise.persistence.backup import shown

    url = obj.settings.database_url
    with database_errors(url):
        state, _tables = _schema_state(url, must_exist=True)
    if as_json:
        emit_json(
            {
                "database": shown(url),
                "revision": state.revision,
                "head": state.head,
                "newest": state.newest,
                "known": state.known,
            }
        )
        return
    if state.revision is None:
        click.echo(
            f"{shown(url)}: no needlewise schema yet (newest is {state.head}); "
            "`needlewise db upgrade` or the first start creates it"
        )
        return
    click.echo(f"{shown(url)}: {state.describe()}")


@db.command("upgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision", default="head")
@click.pass_obj
@guarded
def db_upgrade(obj: Context, revision: str) -> None:
    """Migrate the schema up to REVISION (default head, the newest; or e.g. +1).

    On a new, empty database this creates the schema. Stop needlewise, back up
    (`needlewise backup PATH`), upgrade, then start the new version.
    """
    from needlewise.errors import InputError
    from needlewise.persistence.backup import shown
    from needlewise.persistence.migrate import upgrade

    url = obj.settings.database_url
    with database_errors(url, revision):
        before, tables = _schema_state(url, must_exist=False)
        if before.revision is None and tables:
            raise InputError(
                f"the database has tables ({', '.join(tables[:3])}…) but no needlewise schema; "
                "point NEEDLEWISE_DATABASE_URL at an empty database or a needlewise one",
                shown(url),
            )
        if before.revision is not None and not before.known:
            raise InputError(
                f"the database is at revision {before.revision}, which this version does not "
                "know (was it upgraded by a newer version?)",
                shown(url),
            )
        upgrade(url, revision)
        after, _tables = _schema_state(url, must_exist=False)
    if after.revision == before.revision:
        click.echo(f"{shown(url)}: already at {after.describe()}; nothing to do")
    else:
        start = before.revision or "an empty database"
        click.echo(f"{shown(url)}: upgraded from {start} to {after.describe()}")


@db.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
@guarded
def db_downgrade(obj: Context, revision: str, yes: bool) -> None:
    """Migrate the schema down to REVISION: -1 for one step, or a revision such as 0001.

    A downgrade can drop tables and their data (`base` drops everything): back up first.
    Asks for confirmation unless --yes. This version of needlewise will not start on the
    older schema until `needlewise db upgrade`.
    """
    from needlewise.persistence.backup import shown
    from needlewise.persistence.migrate import downgrade

    url = obj.settings.database_url
    with database_errors(url, revision):
        before, _tables = _schema_state(url, must_exist=True)
        if not yes:
            _confirm(
                f"Downgrade {shown(url)} from {before.revision} to {revision}? "
                "A downgrade can drop data; back up first."
            )
        downgrade(url, revision)
        after, _tables = _schema_state(url, must_exist=True)
    click.echo(f"{shown(url)}: downgraded from {before.revision} to {after.describe()}")


def _confirm(question: str) -> None:
    """Ask on stderr; anything but yes ends the command (exit 1), having changed nothing."""
    try:
        confirmed = click.confirm(question, default=False, err=True)
    except click.Abort:
        confirmed = False
    if not confirmed:
        _fail("not confirmed; nothing was changed", EXIT_INTERNAL)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it already exists.")
@JSON
@click.pass_obj
@guarded
def backup(obj: Context, path: Path, force: bool, as_json: bool) -> None:
    """Write a consistent backup of the database to PATH (a new file) while it runs.

    SQLite: the sqlite3 online backup API, one snapshot while the server keeps writing;
    PATH is a single SQLite file. PostgreSQL: pg_dump --format=custom (pg_dump must be on
    PATH; the connection goes to it in PG* environment variables). The backup holds
    patient data: encrypt it and keep copies off this host (docs/deploy.md).
    """
    from needlewise.persistence import backup as backups

    url = obj.settings.database_url
    with database_errors(url):
        info = backups.backup(url, path, force=force, progress=_progress)
    if as_json:
        emit_json(info.to_json())
        return
    click.echo(
        f"Backed up {backups.shown(url)} to {path}: {_size(info.bytes)}, "
        f"{info.schema.describe()}, in {info.seconds:.2f} s"
    )


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@JSON
@click.pass_obj
@guarded
def restore(obj: Context, path: Path, yes: bool, as_json: bool) -> None:
    """Replace the database with the backup PATH. Stop every needlewise process first.

    PATH must be a backup of the same kind (SQLite file, or pg_dump custom format) with a
    needlewise schema this version knows. SQLite: refused while any process has the
    database open; the file is replaced atomically. PostgreSQL: refused while other
    sessions use the database; pg_restore --clean --if-exists --no-owner runs in one
    transaction. Asks for confirmation unless --yes; prints whether `needlewise db
    upgrade` is needed next.
    """
    from needlewise.persistence import backup as backups

    url = obj.settings.database_url
    with database_errors(url):
        info = backups.inspect(url, path)
        if not yes:
            _confirm(
                f"Replace everything in {backups.shown(url)} with the backup {path} "
                f"({info.schema.describe()}, {_size(info.bytes)})? "
                "Every needlewise process must be stopped."
            )
        info = backups.restore(url, path, progress=_progress)
    if as_json:
        emit_json(info.to_json())
        return
    click.echo(f"Restored {path} into {backups.shown(url)}: {info.schema.describe()}")
    if info.schema.newest:
        click.echo("needlewise can start.")
    else:
        click.echo("Run `needlewise db upgrade` before starting needlewise.")


if __name__ == "__main__":  # pragma: no cover
    main()
