"""Outcome measures: score a measure by its method, judge change against a baseline.

Pure (no I/O). The knowledge base says how each measure is scored (``measures.yaml``:
``method``) and holds its minimal clinically important differences (MCIDs), each for one
population and from one source. Change is never given one universal verdict
(clinical-knowledge.md §7, Wright 2012): :func:`judge` answers once per stored MCID —
improved by at least that MCID, changed less than it, or worse by at least it — with
the MCID's population and source beside the answer.

Scoring methods (``ScoringMethod.kind``):

* ``single`` (NPRS): one whole number in the item range; the score is that number.
* ``mean`` (PSFS): ``min_items``..``max_items`` activities named by the patient, each
  rated in the item range; the score is the mean.
* ``sum`` (NDI): every section scored; the score is the sum (NDI 0-50), also reported
  as a percent (x ``percent_factor``).
* ``percent-of-answered`` (ODI): at least ``min_items`` sections scored, a skipped
  section is ``None``; the score is sum / (``item_max`` x answered) x 100.

MCID units: ``points`` compare the change on the measure's own scale;
``percentage-points`` on the 0-100 percent of its range (NDI: 19 percentage points is
9.5 of its 50 points); ``percent`` is a change relative to the baseline score (ODI,
Mannion 2005: a reduction of at least 18 percent of the baseline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from needlewise.errors import InputError
from needlewise.knowledge.schema import FunctionMeasureChoice, Mcid, Measure

#: the longest activity name a PSFS item may carry
MAX_ACTIVITY = 120
#: changes are compared after rounding (scores are means and percents of small integers)
_DIGITS = 9

Verdict = Literal["improved", "within", "worse", "not-judged"]


@dataclass(frozen=True)
class Item:
    """One item entered: a section ``key`` (NDI, ODI), an activity ``name`` (PSFS) or
    neither (NPRS); ``score`` ``None`` is a skipped section (ODI only)."""

    score: int | None
    key: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Scored:
    """A measure's score and the items it came from (in the method's order)."""

    measure: str
    score: float
    #: the score as a percent of the range, when the method reports one (NDI)
    percent: float | None
    answered: int
    items: tuple[Item, ...]

    def items_json(self) -> dict[str, object]:
        """The items as stored with the score (``outcome_scores.items``)."""
        return {
            "items": [_item_json(i) for i in self.items],
            "answered": self.answered,
            **({"percent": self.percent} if self.percent is not None else {}),
        }


def _item_json(item: Item) -> dict[str, object]:
    found: dict[str, object] = {}
    if item.key is not None:
        found["key"] = item.key
    if item.name is not None:
        found["name"] = item.name
    found["score"] = item.score
    return found


def _where(index: int, field: str) -> str:
    return f"$.items[{index}].{field}"


def _check_score(value: int | None, low: int, high: int, where: str) -> int:
    if value is None:
        raise InputError("a score is needed here", where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError("must be a whole number", where)
    if not low <= value <= high:
        raise InputError(f"must be from {low} to {high}", where)
    return value


def score(measure: Measure, items: Sequence[Item]) -> Scored:
    """Score ``items`` by ``measure``'s method (``InputError`` naming the item when they
    do not fit: wrong count, out of range, unknown or repeated section, too many
    skipped)."""
    method = measure.method
    if method is None:
        raise InputError(f"{measure.id} is not scored by needlewise", "$.measure")
    low, high = method.item_min, method.item_max
    if method.kind in ("single", "mean"):
        if not method.min_items <= len(items) <= method.max_items:
            count = (
                f"{method.min_items}"
                if method.min_items == method.max_items
                else f"{method.min_items} to {method.max_items}"
            )
            raise InputError(f"{measure.abbreviation} takes {count} item(s)", "$.items")
        kept: list[Item] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.key is not None:
                raise InputError(
                    f"{measure.abbreviation} items have no section key", _where(i, "key")
                )
            value = _check_score(item.score, low, high, _where(i, "score"))
            name = None
            if method.patient_named:
                name = " ".join((item.name or "").split())
                if not name:
                    raise InputError("name the activity", _where(i, "name"))
                if len(name) > MAX_ACTIVITY:
                    raise InputError(f"at most {MAX_ACTIVITY} characters", _where(i, "name"))
                if name.casefold() in seen:
                    raise InputError("this activity is listed twice", _where(i, "name"))
                seen.add(name.casefold())
            elif item.name is not None:
                raise InputError(f"{measure.abbreviation} items have no name", _where(i, "name"))
            kept.append(Item(value, None, name))
        total = sum(i.score or 0 for i in kept)
        value_out = total / len(kept) if method.kind == "mean" else float(total)
        return Scored(measure.id, round(value_out, _DIGITS), None, len(kept), tuple(kept))

    keys = [s.key for s in method.sections]
    given: dict[str, int | None] = {}
    for i, item in enumerate(items):
        if item.name is not None:
            raise InputError(f"{measure.abbreviation} sections have no name", _where(i, "name"))
        if item.key not in keys:
            raise InputError(f"not a {measure.abbreviation} section", _where(i, "key"))
        if item.key in given:
            raise InputError("this section is listed twice", _where(i, "key"))
        if item.score is None:
            given[item.key] = None
            continue
        given[item.key] = _check_score(item.score, low, high, _where(i, "score"))
    ordered = tuple(Item(given.get(key), key) for key in keys)
    answered = [i.score for i in ordered if i.score is not None]
    if len(answered) < method.min_items:
        if method.min_items == method.max_items:
            problem = f"{measure.abbreviation} needs every section scored ({method.max_items})"
        else:
            problem = (
                f"{measure.abbreviation} needs at least {method.min_items} of its "
                f"{method.max_items} sections scored ({len(answered)} were)"
            )
        raise InputError(problem, "$.items")
    total = sum(answered)
    if method.kind == "sum":
        percent = total * method.percent_factor if method.percent_factor else None
        return Scored(measure.id, float(total), percent, len(answered), ordered)
    value_out = total / (high * len(answered)) * 100
    return Scored(measure.id, round(value_out, _DIGITS), None, len(answered), ordered)


@dataclass(frozen=True)
class McidJudgement:
    """Change against baseline, judged by one MCID (for its population, from its source)."""

    mcid: Mcid
    #: the improvement in the MCID's unit (negative: worse); ``None`` when not computable
    improvement: float | None
    verdict: Verdict


def improvement(measure: Measure, baseline: float, current: float, unit: str) -> float | None:
    """How much better ``current`` is than ``baseline`` in ``unit`` (negative: worse).

    ``percent`` is relative to the baseline's distance from the scale's bottom; it is
    ``None`` when that distance is 0 (a relative change of nothing cannot be computed).
    """
    better = baseline - current if measure.higher_is_worse else current - baseline
    if unit == "points":
        return round(better, _DIGITS)
    if unit == "percentage-points":
        return round(better * 100 / (measure.max_score - measure.min_score), _DIGITS)
    base = baseline - measure.min_score
    if base == 0:
        return None
    return round(better / base * 100, _DIGITS)


def judge(measure: Measure, baseline: float, current: float) -> list[McidJudgement]:
    """One judgement per MCID of ``measure`` (knowledge order)."""
    found = []
    for mcid in measure.mcids:
        change = improvement(measure, baseline, current, mcid.unit)
        verdict: Verdict
        if change is None:
            verdict = "not-judged"
        elif change >= mcid.value:
            verdict = "improved"
        elif -change >= mcid.value:
            verdict = "worse"
        else:
            verdict = "within"
        found.append(McidJudgement(mcid, change, verdict))
    return found


def function_measures(choice: FunctionMeasureChoice, regions: Sequence[str]) -> list[str]:
    """The function measures the needled ``regions`` call for (each once, in the order
    the regions first call for them): the region's own measure, else the fallback."""
    by_region = {r.region: r.measure for r in choice.by_region}
    found: list[str] = []
    for region in regions:
        measure = by_region.get(region, choice.fallback)
        if measure not in found:
            found.append(measure)
    return found


def is_measuring_session(ordinal: int, every: int) -> bool:
    """Whether the ``ordinal``-th session (1 = the first) is one where function is
    measured: the first (baseline) and every ``every`` sessions after it (1, 1+N, ...)."""
    if ordinal < 1 or every < 1:
        raise ValueError("ordinal and every start at 1")
    return (ordinal - 1) % every == 0


@dataclass(frozen=True)
class SessionFacts:
    """What deciding a due questionnaire needs of one session."""

    session_id: int
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Due:
    """A function questionnaire to ask now: ``baseline`` (never scored yet) or
    ``scheduled`` (this is a measuring session and it is not scored for it yet)."""

    measure: str
    reason: Literal["baseline", "scheduled"]
    session_id: int
    ordinal: int


def due_measures(
    choice: FunctionMeasureChoice,
    sessions: Sequence[SessionFacts],
    scored: Sequence[tuple[str, int | None]],
    every: int,
) -> list[Due]:
    """The questionnaires due for the latest of ``sessions`` (oldest first).

    ``scored`` holds (measure, session id or ``None``) of every function score so far
    that counts for the latest session: the caller passes the scores linked to it or
    recorded since it began, and all earlier ones with their session ids."""
    if not sessions:
        return []
    latest = sessions[-1]
    ordinal = len(sessions)
    ever = {measure for measure, _ in scored}
    for_latest = {measure for measure, session in scored if session == latest.session_id}
    found = []
    for measure in function_measures(choice, latest.regions):
        if measure not in ever:
            found.append(Due(measure, "baseline", latest.session_id, ordinal))
        elif is_measuring_session(ordinal, every) and measure not in for_latest:
            found.append(Due(measure, "scheduled", latest.session_id, ordinal))
    return found
