"""Interoperability commands: ``needlewise import`` (FHIR R4 into the clinic's records).

``fhir.resources`` (slow to import) and the database are only touched inside the
command, so ``needlewise --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from needlewise.cli.base import EXIT_INPUT, JSON, Context, emit_json, guarded, main, read_input

if TYPE_CHECKING:
    from needlewise.services.fhir_import import ImportRefused, ImportSummary


def _print_summary(shown: str, clinic_id: int, summary: ImportSummary) -> None:
    click.echo(f"Imported {shown} into clinic {clinic_id}:")
    click.echo(f"  Patient: {summary.patients_created} created, {summary.patients_matched} matched")
    for kind, counts in sorted(summary.records.items()):
        click.echo(
            f"  {kind}: {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged"
        )
    if summary.skipped:
        listed = ", ".join(f"{kind} {count}" for kind, count in summary.skipped.items())
        click.echo(f"  not imported (skipped): {listed}")


@main.command("import")
@click.argument("file")
@click.option(
    "--clinic",
    "clinic_id",
    type=click.IntRange(min=1),
    default=None,
    help="The clinic's id (default: the database's only clinic).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse resource types that are not imported (Encounter, Claim ...) instead of "
    "skipping and listing them.",
)
@JSON
@click.pass_obj
@guarded
def import_records(
    obj: Context, file: str, clinic_id: int | None, strict: bool, as_json: bool
) -> None:
    """Import a FHIR R4 Bundle (transaction, batch or collection) or one resource.

    FILE (or - for stdin) holds Patients (matched by identifier, or created), and their
    Condition, MedicationStatement, MedicationRequest, Observation, AllergyIntolerance
    and Procedure records (matched by identifier or id: updated in place when changed).
    Importing the same file twice creates nothing new. All or nothing: every bad entry
    is listed with its JSON path on stderr (exit 2) and nothing is written. Other
    resource types are skipped and counted (--strict refuses them). The database is
    NEEDLEWISE_DATABASE_URL; the import is audited as the operator (system).
    """
    from needlewise.cli.operations import database_errors
    from needlewise.errors import ServiceError
    from needlewise.security.roles import Role
    from needlewise.services.actor import Actor
    from needlewise.services.fhir_import import ImportRefused, import_document, operator_clinic

    document = read_input(file)
    shown = "stdin" if file == "-" else file
    with database_errors(obj.settings.database_url):
        runtime = obj.start()
        try:
            clinic = operator_clinic(runtime, clinic_id)
            actor = Actor(ref="system", role=Role.admin, clinic_id=clinic)
            summary = import_document(runtime, actor, document, skip_unsupported=not strict)
        except ImportRefused as refused:
            _refuse(shown, refused, as_json)
        except ServiceError as exc:
            click.echo(f"needlewise: {shown}: {exc.message}", err=True)
            sys.exit(EXIT_INPUT)
        finally:
            runtime.db.dispose()
    if as_json:
        emit_json({"clinic_id": clinic, **summary.model_dump(mode="json")})
    else:
        _print_summary(shown, clinic, summary)


def _refuse(shown: str, refused: ImportRefused, as_json: bool) -> None:
    """Every problem on stderr (and as JSON on stdout with --json); exit 2."""
    problems = refused.problems
    click.echo(
        f"needlewise: {shown}: nothing imported; {len(problems)} "
        f"problem{'s' if len(problems) != 1 else ''}:",
        err=True,
    )
    for problem in problems:
        click.echo(f"  {problem.where}: {problem.problem}", err=True)
    if as_json:
        emit_json({"errors": [{"location": p.where, "message": p.problem} for p in problems]})
    sys.exit(EXIT_INPUT)
