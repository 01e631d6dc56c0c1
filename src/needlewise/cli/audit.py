"""The audit log from the command line: check that nobody changed it."""

from __future__ import annotations

import sys

import click

from needlewise.cli.base import JSON, Context, emit_json, guarded, main

EXIT_BROKEN = 3


@main.group()
def audit() -> None:
    """The audit log (NEEDLEWISE_DATABASE_URL): check its hash chain."""


@audit.command("verify")
@click.option(
    "--anchor",
    metavar="ID:HASH",
    default=None,
    help="An entry id and hash noted earlier (the head of a previous check): it must be unchanged.",
)
@JSON
@click.pass_obj
@guarded
def audit_verify(obj: Context, anchor: str | None, as_json: bool) -> None:
    """Check that no audit entry was changed, removed or slipped in since it was written.

    Recomputes every entry's hash, in order, from its fields and the entry before it,
    and prints the head (newest entry's id and hash): keep that somewhere else and pass
    it as --anchor later to catch a log rewritten from some entry onwards. Only reads:
    also works on a restored backup. Exit codes: 0 the chain is intact; 3 it is broken
    (the first broken entry is named); 2 unusable input (no database, an outdated
    schema, a malformed --anchor); 1 internal error.
    """
    from needlewise.cli.operations import database_errors
    from needlewise.persistence.db import shown
    from needlewise.services.audit_verify import parse_anchor, verify_chain
    from needlewise.startup import open_for_reading

    url = obj.settings.database_url
    anchored = parse_anchor(anchor) if anchor is not None else None
    with database_errors(url):
        db = open_for_reading(obj.settings)  # refuses a missing or outdated database
        try:
            report = verify_chain(db, anchored)
        finally:
            db.dispose()
    if as_json:
        emit_json(report.model_dump(mode="json"))
    elif report.ok:
        head = f"; head {report.head.id}:{report.head.hash}" if report.head else ""
        click.echo(f"{shown(url)}: audit log intact, {report.entries} entries{head}")
    else:
        assert report.first_broken is not None
        first = report.first_broken
        more = report.broken_count - 1
        tail = f" ({more} more broken: {', '.join(map(str, report.broken[1:11]))})" if more else ""
        click.echo(
            f"{shown(url)}: audit log BROKEN at entry {first.id}: {first.problem}{tail}; "
            f"{report.entries} entries checked"
        )
    if not report.ok:
        sys.exit(EXIT_BROKEN)
