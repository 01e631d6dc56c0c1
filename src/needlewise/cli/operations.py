"""Operating the database: schema migrations, backup and restore."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from needlewise.cli.base import (
    EXIT_INTERNAL,
    JSON,
    Context,
    _fail,
    emit_json,
    guarded,
    main,
)

if TYPE_CHECKING:
    from needlewise.errors import InputError
    from needlewise.persistence.migrate import SchemaState

# ------------------------------------------------------------------ operations


@contextmanager
def database_errors(url: str, revision: str | None = None) -> Iterator[None]:
    """Connection, SQL and migration failures and a schema this version cannot use as one
    clear line (exit 2), never a traceback."""
    from alembic.util import CommandError
    from sqlalchemy.exc import DatabaseError

    from needlewise.errors import InputError
    from needlewise.persistence.db import shown
    from needlewise.persistence.migrate import SchemaError

    try:
        yield
    except SchemaError as exc:
        raise refusal(url, exc.state) from None
    except DatabaseError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise InputError(f"cannot use the database ({reason})", shown(url)) from None
    except CommandError as exc:
        from needlewise.persistence.migrate import revisions

        hint = f"give one of {', '.join(revisions())}, head, base, or a step such as -1"
        reason = str(exc).splitlines()[0].rstrip(".")
        raise InputError(f"{reason}; {hint}", f"revision {revision!r}") from None


def refusal(url: str, state: SchemaState) -> InputError:
    """The schema ``state`` of the database at ``url`` as an input error: what is wrong
    and what to do (:meth:`SchemaState.problem`), where (the file, or the URL)."""
    from needlewise.errors import InputError
    from needlewise.persistence.db import shown, sqlite_path
    from needlewise.persistence.migrate import SchemaKind

    path = sqlite_path(url)
    missing = state.kind is SchemaKind.MISSING and path is not None
    return InputError(state.problem(), str(path) if missing else shown(url))


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _schema_state(url: str, *, must_exist: bool) -> SchemaState:
    """The database's schema state; refuses a missing SQLite file if asked (never creates it)."""
    from needlewise.persistence.migrate import SchemaKind, schema_state

    state = schema_state(url)
    if must_exist and state.kind is SchemaKind.MISSING:
        raise refusal(url, state)
    return state


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
    from needlewise.persistence.db import shown

    url = obj.settings.database_url
    with database_errors(url):
        state = _schema_state(url, must_exist=True)
    if as_json:
        emit_json(
            {
                "database": shown(url),
                "state": state.kind.value,
                "revision": state.revision,
                "head": state.head,
                "newest": state.newest,
                "known": state.known,
            }
        )
        return
    # no needlewise schema: say what to do about it (create it, or point elsewhere)
    click.echo(f"{shown(url)}: {state.describe() if state.revision else state.problem()}")


@db.command("upgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision", default="head")
@click.pass_obj
@guarded
def db_upgrade(obj: Context, revision: str) -> None:
    """Migrate the schema up to REVISION (default head, the newest; or e.g. +1).

    On a new, empty database this creates the schema. Stop needlewise, back up
    (`needlewise backup PATH`), upgrade, then start the new version.
    """
    from needlewise.persistence.db import shown
    from needlewise.persistence.migrate import SchemaKind, upgrade

    url = obj.settings.database_url
    with database_errors(url, revision):
        before = _schema_state(url, must_exist=False)
        if before.kind in (SchemaKind.FOREIGN, SchemaKind.NEWER):  # not ours to change
            raise refusal(url, before)
        upgrade(url, revision)
        after = _schema_state(url, must_exist=False)
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
    from needlewise.persistence.db import shown
    from needlewise.persistence.migrate import downgrade

    url = obj.settings.database_url
    with database_errors(url, revision):
        before = _schema_state(url, must_exist=True)
        if not yes:
            _confirm(
                f"Downgrade {shown(url)} from {before.revision} to {revision}? "
                "A downgrade can drop data; back up first."
            )
        downgrade(url, revision)
        after = _schema_state(url, must_exist=True)
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
    from needlewise.persistence.db import shown

    url = obj.settings.database_url
    with database_errors(url):
        info = backups.backup(url, path, force=force, progress=_progress)
    if as_json:
        emit_json(info.to_json())
        return
    click.echo(
        f"Backed up {shown(url)} to {path}: {_size(info.bytes)}, "
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
    from needlewise.persistence.db import shown

    url = obj.settings.database_url
    with database_errors(url):
        info = backups.inspect(url, path)
        if not yes:
            _confirm(
                f"Replace everything in {shown(url)} with the backup {path} "
                f"({info.schema.describe()}, {_size(info.bytes)})? "
                "Every needlewise process must be stopped."
            )
        info = backups.restore(url, path, progress=_progress)
    if as_json:
        emit_json(info.to_json())
        return
    click.echo(f"Restored {path} into {shown(url)}: {info.schema.describe()}")
    if info.schema.newest:
        click.echo("needlewise can start.")
    else:
        click.echo("Run `needlewise db upgrade` before starting needlewise.")
