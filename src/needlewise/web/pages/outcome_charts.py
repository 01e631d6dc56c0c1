"""The outcome charts of the patient chart, laid out for server-rendered SVG (no JS).

* :func:`nprs_chart`: pain (NPRS 0-10) over time — each session's score before needling
  (circles, solid line) and after (squares, dashed line), and the scores a patient gave
  in a check-in or a clinician recorded on their own (triangles, dotted line). One
  column per moment, oldest on the left.
* :func:`measure_charts`: one chart per function measure scored (PSFS, NDI, ODI): the
  scores over time, the baseline (the first score) as a line, and the MCID band — the
  scores that differ from the baseline by less than the smallest MCID stored for the
  measure (a dashed outline marks the largest, when the stored MCIDs differ).

Each chart comes with a plain-text summary (baseline, latest, and each MCID's verdict
with its population and source) that the template puts beside it, and a table twin.
Geometry only: the numbers and judgements come from
:func:`needlewise.services.outcomes.patient_outcomes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Measure
from needlewise.services.outcomes import (
    NPRS,
    JudgementOut,
    NprsPointOut,
    OutcomeScoreOut,
    PatientOutcomesOut,
)

#: the drawing area (SVG user units)
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 48, 28, 16, 40


@dataclass(frozen=True)
class Geometry:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM


GEOMETRY = Geometry()


def _xs(count: int) -> list[float]:
    span = WIDTH - LEFT - RIGHT
    if count == 1:
        return [LEFT + span / 2]
    return [LEFT + span * i / (count - 1) for i in range(count)]


def _scale(low: float, high: float) -> Callable[[float], float]:
    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))

    return y


def _polyline(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


@dataclass(frozen=True)
class NprsColumn:
    """One moment on the NPRS chart: a session (before/after) or a check-in/recorded."""

    when: datetime
    x: float
    before: int | None = None
    after: int | None = None
    other: int | None = None
    other_source: str | None = None
    y_before: float | None = None
    y_after: float | None = None
    y_other: float | None = None


@dataclass(frozen=True)
class NprsChart:
    columns: list[NprsColumn]
    ticks: list[tuple[int, float]]
    #: the latest judged pain-before score's judgement, for the summary
    latest: NprsPointOut | None
    baseline: tuple[float, datetime] | None

    @property
    def before_path(self) -> str:
        return _polyline([(c.x, c.y_before) for c in self.columns if c.y_before is not None])

    @property
    def after_path(self) -> str:
        return _polyline([(c.x, c.y_after) for c in self.columns if c.y_after is not None])

    @property
    def other_path(self) -> str:
        return _polyline([(c.x, c.y_other) for c in self.columns if c.y_other is not None])

    @property
    def has_other(self) -> bool:
        return any(c.other is not None for c in self.columns)


@dataclass
class _Slot:
    when: datetime
    before: int | None = None
    after: int | None = None
    other: int | None = None
    other_source: str | None = None


def nprs_chart(points: list[NprsPointOut]) -> NprsChart | None:
    """The NPRS chart of the series (``None`` when there is no pain score)."""
    if not points:
        return None
    y = _scale(0, 10)
    slots: dict[tuple[str, int], _Slot] = {}
    for p in points:
        if p.source in ("session-before", "session-after"):
            key = ("session", p.session_id or 0)
        else:
            key = ("score", p.outcome_id or 0)
        slot = slots.setdefault(key, _Slot(p.at))
        if p.source == "session-before":
            slot.before = p.score
        elif p.source == "session-after":
            slot.after = p.score
        else:
            slot.other, slot.other_source = p.score, p.source
    ordered = sorted(slots.values(), key=lambda s: s.when)
    columns = [
        NprsColumn(
            when=s.when,
            x=x,
            before=s.before,
            after=s.after,
            other=s.other,
            other_source=s.other_source,
            y_before=y(s.before) if s.before is not None else None,
            y_after=y(s.after) if s.after is not None else None,
            y_other=y(s.other) if s.other is not None else None,
        )
        for x, s in zip(_xs(len(ordered)), ordered, strict=True)
    ]
    judged = [p for p in points if p.judgement is not None]
    latest = judged[-1] if judged else None
    baseline = None
    if latest is not None and latest.judgement is not None:
        baseline = (latest.judgement.baseline_score, latest.judgement.baseline_at)
    return NprsChart(columns, [(t, y(t)) for t in range(0, 11, 2)], latest, baseline)


@dataclass(frozen=True)
class MeasurePoint:
    score: OutcomeScoreOut
    x: float
    y: float


@dataclass(frozen=True)
class MeasureChart:
    """One function measure's chart and what its summary says."""

    measure: Measure
    points: list[MeasurePoint]
    ticks: list[tuple[float, float]]
    baseline_y: float
    #: the band of "changed less than the smallest MCID" (top y, height)
    band: tuple[float, float] | None
    #: the largest MCID's bounds when the stored MCIDs differ (y above, y below)
    outer: tuple[float, float] | None
    latest: OutcomeScoreOut | None
    slug: str = field(default="")

    @property
    def path(self) -> str:
        return _polyline([(p.x, p.y) for p in self.points])

    @property
    def judgement(self) -> JudgementOut | None:
        return self.latest.judgement if self.latest is not None else None


def _mcid_points(measure: Measure, baseline: float) -> list[float]:
    """Each stored MCID as a distance in the measure's points around ``baseline``."""
    found = []
    for mcid in measure.mcids:
        if mcid.unit == "points":
            found.append(mcid.value)
        elif mcid.unit == "percentage-points":
            found.append(mcid.value * (measure.max_score - measure.min_score) / 100)
        elif baseline > measure.min_score:
            found.append((baseline - measure.min_score) * mcid.value / 100)
    return found


def _ticks(measure: Measure) -> list[float]:
    span = measure.max_score - measure.min_score
    step = 2 if span <= 10 else 10
    count = int(span // step)
    return [measure.min_score + step * i for i in range(count + 1)]


def measure_chart(measure: Measure, scores: list[OutcomeScoreOut]) -> MeasureChart:
    """The chart of one measure's scores (oldest first; the first is the baseline)."""
    low, high = measure.min_score, measure.max_score
    y = _scale(low, high)
    points = [MeasurePoint(s, x, y(s.score)) for x, s in zip(_xs(len(scores)), scores, strict=True)]
    baseline = scores[0].score
    distances = _mcid_points(measure, baseline)
    band = outer = None
    if distances:
        near, far = min(distances), max(distances)
        top, bottom = y(min(high, baseline + near)), y(max(low, baseline - near))
        band = (top, bottom - top)
        if far > near:
            outer = (y(min(high, baseline + far)), y(max(low, baseline - far)))
    return MeasureChart(
        measure=measure,
        points=points,
        ticks=[(t, y(t)) for t in _ticks(measure)],
        baseline_y=y(baseline),
        band=band,
        outer=outer,
        latest=scores[-1] if len(scores) > 1 else None,
        slug=measure.id.removeprefix("measure."),
    )


def measure_charts(kb: KnowledgeBase, outcomes: PatientOutcomesOut) -> list[MeasureChart]:
    """One chart per function measure the patient has scores of (knowledge order)."""
    charts = []
    for measure in kb.data.measures:
        if measure.id == NPRS or measure.method is None:
            continue
        scores = [s for s in outcomes.scores if s.measure == measure.id]
        if scores:
            charts.append(measure_chart(measure, scores))
    return charts
