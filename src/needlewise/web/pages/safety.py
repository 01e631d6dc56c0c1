"""``/app/safety``: the clinic's safety record, as a page, a CSV and a PDF.

All three call :func:`needlewise.services.safety_report.safety_report` (clinicians and
admins, ``safety-report:read``; anyone else gets a 403, audited) for the period in
``?start=YYYY-MM-DD&end=YYYY-MM-DD`` (both optional; default the last 12 months in the
clinic's time zone). A date that is not a date is a 422 naming ``start`` or ``end``.

* ``/app/safety`` — the rates beside the published ones, an interval chart (SVG), the
  tables by region and provider, the definitions and the sources;
* ``/app/safety.csv`` — one row per group (clinic, each region, each provider) with its
  counts, rates per 100 and 95% interval bounds, then one row per published figure with
  its source;
* ``/app/safety.pdf`` — the page as a document for the clinic's quality meeting.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from needlewise.domain.safety_rates import Rate
from needlewise.errors import InputError
from needlewise.languages import Language
from needlewise.services.actor import Actor
from needlewise.services.runtime import Runtime
from needlewise.services.safety_report import PERMISSION, GroupRates, SafetyReport, safety_report
from needlewise.translations import N_
from needlewise.web.api.deps import RuntimeDep
from needlewise.web.auth import staff
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.pdf import html_to_pdf, pdf_response
from needlewise.web.pages.rendering import clinic_zone, clock, environment, gettext, render
from needlewise.web.pages.safety_chart import IntervalChart, interval_chart, label_number

router = APIRouter(include_in_schema=False)

SafetyReader = Annotated[Actor, Depends(staff(PERMISSION))]
Start = Annotated[str | None, Query(max_length=40, description="First day (YYYY-MM-DD)")]
End = Annotated[str | None, Query(max_length=40, description="Last day (YYYY-MM-DD)")]


def day(value: str | None, name: str) -> date | None:
    """``value`` (``YYYY-MM-DD``) as a date; blank is ``None``; anything else is a 422
    naming the field (the page's error shows the message, so the message names it)."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f'the period\'s "{name}" is not a date: write it as YYYY-MM-DD, e.g. 2026-01-31',
            name,
        ) from None


def number(value: float | None) -> str:
    """A rate per 100 for a table ("\u2013" when there is none)."""
    return "\u2013" if value is None else label_number(value)


#: the charts' words (translated when drawn: ``gettext(language, ...)``)
MINOR_TITLE = N_("Minor adverse events per 100 treatments")
SIGNIFICANT_TITLE = N_("Significant adverse events per 100 treatments")
THIS_CLINIC = N_("This clinic")
CHART_DESCRIPTION = N_(
    "Each row shows a rate as a dot and its 95 percent confidence interval as a line. "
    "The tables below hold the same numbers."
)


def charts(report: SafetyReport, language: Language) -> list[IntervalChart]:
    """The minor and significant interval charts: this clinic, then the surveys."""
    made = []
    for measure, title in (("minor", MINOR_TITLE), ("significant", SIGNIFICANT_TITLE)):
        mine: Rate = getattr(report.clinic, measure)
        rows: list[tuple[str, Rate, bool]] = [(gettext(language, THIS_CLINIC), mine, True)]
        rows += [(p.label, p.rate, False) for p in report.published if p.measure == measure]
        made.append(
            interval_chart(gettext(language, title), gettext(language, CHART_DESCRIPTION), rows)
        )
    return made


def context(request: Request, rt: Runtime, report: SafetyReport, language: Language) -> Any:
    query = request.url.query
    return {
        "report": report,
        "charts": charts(report, language),
        "number": number,
        "sources": sources_of(rt.kb, [p.source_id for p in report.published]),
        "query": f"?{query}" if query else "",
        # the PDF is rendered outside render(): it needs the clinic's clock itself
        "local": clock(clinic_zone(request)),
    }


def _report(rt: Runtime, actor: Actor, start: str | None, end: str | None) -> SafetyReport:
    return safety_report(rt, actor, day(start, "start"), day(end, "end"))


@router.get("/app/safety", response_class=HTMLResponse)
async def safety_page(
    request: Request, rt: RuntimeDep, actor: SafetyReader, start: Start = None, end: End = None
) -> Response:
    """The clinic's safety record for the period (default the last 12 months)."""
    report = await run_in_threadpool(_report, rt, actor, start, end)
    language = chosen_language(request)
    return render(request, "clinic/safety.html", context(request, rt, report, language))


@router.get("/app/safety.pdf")
async def safety_pdf(
    request: Request, rt: RuntimeDep, actor: SafetyReader, start: Start = None, end: End = None
) -> Response:
    """The safety record as a PDF, in the reader's language."""
    report = await run_in_threadpool(_report, rt, actor, start, end)
    language = chosen_language(request)
    html = (
        environment(language)
        .get_template("clinic/safety_pdf.html")
        .render(context(request, rt, report, language))
    )
    pdf = await run_in_threadpool(html_to_pdf, html)
    return pdf_response(pdf, f"safety-record-{report.start}-{report.end}.pdf")


CSV_FIELDS = (
    "kind", "group", "treatments",
    "minor_events", "minor_treatments", "minor_per_100", "minor_ci_low", "minor_ci_high",
    "significant_events", "significant_treatments", "significant_per_100",
    "significant_ci_low", "significant_ci_high",
    "check_ins_treatments", "check_ins_per_100", "check_ins_ci_low", "check_ins_ci_high",
    "emergency_treatments", "emergency_per_100", "emergency_ci_low", "emergency_ci_high",
    "call_provider_treatments", "call_provider_per_100", "call_provider_ci_low",
    "call_provider_ci_high",
    "period_start", "period_end", "time_zone", "source", "note",
)  # fmt: skip


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _rate_cells(prefix: str, r: Rate, count_field: str = "treatments") -> dict[str, str]:
    return {
        f"{prefix}_{count_field}": str(r.count),
        f"{prefix}_per_100": _cell(r.per_100),
        f"{prefix}_ci_low": _cell(r.low),
        f"{prefix}_ci_high": _cell(r.high),
    }


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (names are typed by people)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _group_row(report: SafetyReport, g: GroupRates) -> dict[str, str]:
    row = {
        "kind": g.kind,
        "group": _safe(g.key if g.kind == "region" else g.title("en")),
        "treatments": str(g.treatments),
        "minor_events": str(g.minor_events),
        "significant_events": str(g.significant_events),
        "period_start": report.start.isoformat(),
        "period_end": report.end.isoformat(),
        "time_zone": report.time_zone,
    }
    for prefix in ("minor", "significant", "check_ins", "emergency", "call_provider"):
        row.update(_rate_cells(prefix, getattr(g, prefix)))
    return row


def safety_csv(report: SafetyReport) -> str:
    """The report as CSV text (see the module's docstring)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n", restval="")
    writer.writeheader()
    for g in report.groups:
        writer.writerow(_group_row(report, g))
    for p in report.published:
        row = {
            "kind": "published",
            "group": p.source_id,
            "treatments": str(p.denominator),
            **_rate_cells(p.measure, p.rate, "events"),
            "source": p.citation,
            "note": (
                f"authors' estimate: at most {p.published_percent} percent; " if p.authors_estimate
                else f"published: {p.published_percent} percent; "
            ) + f"counted per {p.per}; interval computed here from the published counts. "
            + (p.note or ""),
        }  # fmt: skip
        writer.writerow(row)
    return out.getvalue()


@router.get("/app/safety.csv")
async def safety_csv_download(
    rt: RuntimeDep, actor: SafetyReader, start: Start = None, end: End = None
) -> Response:
    """The safety record as CSV (UTF-8, one row per group, then the published rows)."""
    report = await run_in_threadpool(_report, rt, actor, start, end)
    return Response(
        safety_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="safety-record-{report.start}-{report.end}.csv"'
            )
        },
    )
