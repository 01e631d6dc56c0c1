"""PostgreSQL backup and restore through the client tools (see
:mod:`needlewise.persistence.backup`).

``pg_dump --format=custom`` writes the backup; ``pg_restore --clean --if-exists
--no-owner`` puts it back in one transaction. The connection goes to the tools in
``PG*`` environment variables parsed from the SQLAlchemy URL, never on their command
line, where ``ps`` shows it to every user of the host.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from needlewise.persistence.backup_files import BackupError, Progress
from needlewise.persistence.db import make_engine, shown

# libpq settings that may appear in the URL's query, and their environment variables.
_QUERY_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
_OBJECTS = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
UNION ALL
SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  )
"""
_OTHER_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""
_TOC_ENTRY = re.compile(
    r"^\d+; \d+ \d+ (MATERIALIZED VIEW|FOREIGN TABLE|TABLE DATA|TABLE|VIEW|SEQUENCE SET"
    r"|SEQUENCE OWNED BY|SEQUENCE|FUNCTION|PROCEDURE) (\S+) (.+) \S+$"
)
_TOC_OBJECTS = {"MATERIALIZED VIEW", "FOREIGN TABLE", "TABLE", "VIEW", "SEQUENCE", "FUNCTION"}


def _env(url: str) -> tuple[dict[str, str], str]:
    """The environment for the client tools (connection in PG* variables) and the db name."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    given = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    for key, value in parsed.query.items():
        if key not in _QUERY_ENV:
            raise BackupError(
                f"the URL option {key!r} cannot be passed to pg_dump/pg_restore", shown(url)
            )
        given[_QUERY_ENV[key]] = value if isinstance(value, str) else ",".join(value)
    env.update({key: value for key, value in given.items() if value})
    database = env.get("PGDATABASE")
    if not database:
        raise BackupError("the URL names no database", shown(url))
    return env, database


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            "not found on PATH: install the PostgreSQL client tools (Debian: "
            "postgresql-client) of the server's major version or newer",
            name,
        )
    return found


def _run(name: str, args: list[str], env: dict[str, str], show: str, progress: Progress) -> None:
    """Run a client tool, passing its ``show`` lines on as progress; fail with its error."""
    errors: list[str] = []
    with subprocess.Popen(  # noqa: S603 - a fixed tool and arguments, no shell
        [_tool(name), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip()
            if show in line:
                progress(line)
            elif "error:" in line or "FATAL" in line:
                errors.append(line.split("error:", 1)[-1].strip())
        code = proc.wait()
    if code != 0:
        raise BackupError(f"failed: {errors[0] if errors else f'exit status {code}'}", name)


def backup(url: str, tmp: Path, progress: Progress) -> None:
    """``pg_dump`` the database at ``url`` into the file ``tmp``."""
    env, _database = _env(url)
    _run(
        "pg_dump",
        ["--format=custom", "--no-password", "--verbose", f"--file={tmp}"],
        env,
        "dumping contents of table",
        progress,
    )


def archive(source: Path) -> tuple[str | None, set[tuple[str, str]]]:
    """(schema revision, {(schema, object name)}) of a custom-format dump."""
    tool = _tool("pg_restore")
    listing = subprocess.run(  # noqa: S603 - a fixed tool and arguments, no shell
        [tool, "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError("is not a readable PostgreSQL custom-format dump", str(source))
    objects: set[tuple[str, str]] = set()
    for line in listing.stdout.splitlines():
        match = _TOC_ENTRY.match(line)
        if match and match.group(1) in _TOC_OBJECTS:
            objects.add((match.group(2), match.group(3).split("(", 1)[0]))
    if not any(name == "alembic_version" for _schema, name in objects):
        return None, objects
    data = subprocess.run(  # noqa: S603 - a fixed tool and arguments, no shell
        [tool, "--data-only", "--table=alembic_version", "--file=-", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = data.stdout.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            value = lines[number + 1]
            return (None if value == "\\." else value.strip()), objects
    return None, objects


def restore(url: str, source: Path, progress: Progress) -> None:
    """``pg_restore`` the checked dump ``source`` into the database at ``url``."""
    env, database = _env(url)
    _revision, archived = archive(source)
    engine = make_engine(url, pool=False)
    try:
        with engine.connect() as connection:
            others = int(connection.scalar(text(_OTHER_SESSIONS)) or 0)
            present = {(str(s), str(n)) for s, n in connection.execute(text(_OBJECTS))}
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise BackupError(f"cannot connect ({reason})", shown(url)) from None
    finally:
        engine.dispose()
    if others:
        raise BackupError(
            f"{others} other session(s) use the database: stop every needlewise process "
            "(and close other sessions) before restoring",
            shown(url),
        )
    extra = sorted(f"{s}.{n}" for s, n in present - archived)
    if extra:
        listed = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise BackupError(
            f"the database holds objects the backup lacks ({listed}): restore into a new, "
            "empty database (createdb), or drop and re-create this one first",
            shown(url),
        )
    _run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            "--verbose",
            f"--dbname={database}",
            str(source),
        ],
        env,
        "processing data for table",
        progress,
    )
