"""The published rates a clinic's safety record is set beside, read from the knowledge
base (``risks.yaml``: ``risk.any-minor-event`` and ``risk.major-event``), never typed in
code.

Only counted surveys are used: an incidence figure per treatment or per session with a
published denominator (Brady 2014, 7,629 treatments; Boyce 2020, 20,494 sessions — the
abstract also says 20,464, see the figure's note). Their interval is computed the same
way as the clinic's (:func:`needlewise.domain.safety_rates.events_rate`) from the
published counts. Where the figure printed is the authors' own estimate rather than a
count (Brady's "upper risk ≤ 0.04%" with 0 events), ``authors_estimate`` is set and the
figure is shown as theirs, beside our interval from the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from needlewise.domain.safety_rates import Rate, events_rate
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Risk, Source

Measure = Literal["minor", "significant"]

#: which risk of the knowledge base holds the published figures of each measure
RISK_OF: dict[Measure, str] = {
    "minor": "risk.any-minor-event",
    "significant": "risk.major-event",
}


@dataclass(frozen=True)
class PublishedRate:
    """One published figure: the survey's counts, its printed percent, and our interval.

    ``per`` is what the survey counted (``treatments`` or ``sessions``);
    ``authors_estimate`` marks a printed figure that is the authors' estimate (an upper
    bound), not the count divided by the denominator."""

    measure: Measure
    source_id: str
    citation: str
    url: str | None
    events: int
    denominator: int
    per: str
    published_percent: float
    authors_estimate: bool
    rate: Rate
    note: str | None

    @property
    def label(self) -> str:
        """A short name for tables and charts: ``source.brady-2014`` is "Brady 2014"."""
        name, _, year = self.source_id.removeprefix("source.").rpartition("-")
        return f"{name.replace('-', ' ').title()} {year}" if name else self.source_id


def published_rates(kb: KnowledgeBase) -> list[PublishedRate]:
    """The counted survey figures for minor and significant events, minor first, in the
    knowledge base's order."""
    found: list[PublishedRate] = []
    for measure, risk_id in RISK_OF.items():
        risk = kb.get(risk_id)
        if not isinstance(risk, Risk):
            continue
        for figure in risk.incidence:
            if figure.per not in ("treatments", "sessions"):
                continue
            if figure.numerator is None or figure.denominator is None:
                continue  # an estimate without counts (Gattie 2020): no interval to compute
            source = kb.get(figure.source)
            found.append(
                PublishedRate(
                    measure=measure,
                    source_id=figure.source,
                    citation=source.citation if isinstance(source, Source) else figure.source,
                    url=source.url if isinstance(source, Source) else None,
                    events=figure.numerator,
                    denominator=figure.denominator,
                    per=figure.per,
                    published_percent=figure.value,
                    authors_estimate=figure.upper_bound,
                    rate=events_rate(figure.numerator, figure.denominator),
                    note=figure.note,
                )
            )
    return found
