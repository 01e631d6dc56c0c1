"""Clinical commands: screen, triage, code-session, scope, questionnaire, kb."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from needlewise.cli.base import (
    EXIT_INPUT,
    JSON,
    LANG,
    Context,
    _stamp,
    emit_json,
    guarded,
    main,
    read_input,
)


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
    from needlewise.services.stateless_screening import screen_document

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
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    metavar="ID",
    help="A condition the patient has, as a contraindication id (joint-replacement, "
    "immunocompromised, ...); repeat for more. Adds to the file's own `conditions`.",
)
@JSON
@click.pass_obj
@guarded
def triage(obj: Context, file: str, conditions: tuple[str, ...], as_json: bool) -> None:
    """Triage an after-treatment check-in.

    FILE (or -) is an aftercare QuestionnaireResponse or the triage JSON:
    {"symptoms": [...], "temperature": {"value": 38.2, "unit": "Cel"},
    "hours_since_treatment": 20, "treated_regions": [...], "conditions": [...],
    "text": "...", "language": "en"}.
    Without conditions the patient's health history counts as not known.
    """
    from needlewise.services.triage import check_conditions, triage_document

    kb = obj.kb()
    given = (
        check_conditions(list(conditions), kb, "--condition", "--condition") if conditions else None
    )
    result = triage_document(read_input(file), kb, given).to_json()
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
    known = result.get("conditions")
    if known is None:
        click.echo("Patient conditions: not known")
    else:
        shown = ", ".join(f"{c['condition']} ({c['where']})" for c in known) or "none"
        click.echo(f"Patient conditions: {shown}")
    free_text = result.get("free_text")
    if free_text is not None:
        _echo_reading(free_text)
    click.echo("Advice:")
    for paragraph in result["advice"].split("\n\n"):
        click.echo(f"  {paragraph}")
    click.echo(_stamp(result["knowledge"]))


def _echo_reading(free_text: dict[str, Any]) -> None:
    """What was read in the message, denials included (the reasons list only what counts)."""
    understood = "understood" if free_text["understood"] else "NOT understood"
    other = free_text.get("other_language")
    extra = f", looks like {other}" if other else ""
    click.echo(f"Read in the message ({free_text['language']} pipeline, {understood}{extra}):")
    for mention in free_text["mentions"]:
        how = ", ".join(f"{m['category']} '{m['trigger']}'" for m in mention["modifiers"])
        click.echo(
            f'  {mention["status"]:12s} {mention["concept"]} "{mention["quote"]}"'
            + (f" ({how})" if how else "")
        )
    for temperature in free_text["temperatures"]:
        unit = temperature["unit"] or "not a plausible body temperature"
        click.echo(f'  temperature  {temperature["value"]:g} {unit} "{temperature["quote"]}"')
    for time in free_text["times"]:
        low, high = time["hours"]
        hours = f"{low:g}-{high:g} h" if high is not None else f"{low:g}+ h"
        click.echo(f'  time         {hours} "{time["quote"]}"')


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
