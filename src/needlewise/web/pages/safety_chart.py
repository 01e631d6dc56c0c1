"""The interval chart of the safety record: an SVG drawn on the server (no script).

One chart per measure (minor, significant events): a row for the clinic and one per
published survey, each with a bar to the rate, a line across its 95% interval and a
dot at the rate, on a shared axis in events per 100 treatments. Geometry only: the
template (``clinic/_safety_chart.html``) draws it, the page and the PDF alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from needlewise.domain.safety_rates import Rate

WIDTH, LABEL, RIGHT, TOP, ROW, AXIS = 520, 150, 24, 8, 42, 34
#: tick steps tried in order, the first giving at most 5 steps to the axis end is used
STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 25, 50)


@dataclass(frozen=True)
class ChartRow:
    label: str
    y: float
    rate: float | None
    low: float | None
    high: float | None
    x_rate: float
    x_low: float
    x_high: float
    text: str
    mine: bool


@dataclass(frozen=True)
class IntervalChart:
    title: str
    description: str
    width: int
    height: int
    left: int
    right: int
    axis_y: float
    rows: list[ChartRow]
    ticks: list[tuple[str, float]]


def axis_step(largest: float) -> tuple[float, float]:
    """The tick step and the axis end for values up to ``largest`` (per 100)."""
    for step in STEPS:
        if largest <= step * 5:
            end = step * max(1, -(-largest // step))
            return step, float(end)
    return 20.0, 100.0


def label_number(value: float) -> str:
    """A rate per 100 as the chart and tables show it (two decimals below 1)."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def interval_chart(
    title: str, description: str, rows: list[tuple[str, Rate, bool]]
) -> IntervalChart:
    """The chart of ``rows`` (label, rate, is this clinic's). A row with no rate (no
    treatments) is drawn as a label with "no treatments"-style text from the caller."""
    largest = max((r.high or 0.0 for _, r, _ in rows), default=0.0)
    step, end = axis_step(max(largest, 0.01))
    span = WIDTH - LABEL - RIGHT

    def x(value: float | None) -> float:
        return LABEL + span * min(max((value or 0.0) / end, 0.0), 1.0)

    drawn = [
        ChartRow(
            label=label,
            y=TOP + ROW * i + ROW / 2,
            rate=r.per_100,
            low=r.low,
            high=r.high,
            x_rate=x(r.per_100),
            x_low=x(r.low),
            x_high=x(r.high),
            text=(
                f"{label_number(r.per_100)} ({label_number(r.low or 0)}\u2013{label_number(r.high or 0)})"
                if r.per_100 is not None
                else "\u2013"
            ),
            mine=mine,
        )
        for i, (label, r, mine) in enumerate(rows)
    ]
    count = round(end / step)
    ticks = [(label_number(step * k) if k else "0", x(step * k)) for k in range(count + 1)]
    axis_y = TOP + ROW * len(rows)
    return IntervalChart(
        title=title,
        description=description,
        width=WIDTH,
        height=int(axis_y + AXIS),
        left=LABEL,
        right=WIDTH - RIGHT,
        axis_y=axis_y,
        rows=drawn,
        ticks=ticks,
    )
