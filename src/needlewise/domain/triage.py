"""After-treatment triage: ``triage(report, kb) -> TriageResult``.

The disposition is the highest tier any reason reaches (emergency > call-provider >
self-care). Reasons come from:

* each reported symptom, at its tier from the knowledge base; a symptom the patient is
  unsure about counts as present, and an unsure self-care symptom moves up to
  call-provider (policy.unclear-symptom);
* a measured temperature at or above the fever cut-off, in the unit it was given in
  (38.0 °C or 100.4 °F, inclusive: no rounding through a unit conversion);
* escalations (sourced combinations, e.g. a new cough within 72 h of needling near the
  lung, or a fever in a patient with a weak immune system); unknown time since treatment
  counts as inside every window, unknown treated regions count as matching and a region
  whose nearness to the lung is not confirmed counts as near it, so missing input never
  lowers the tier;
* the patient's conditions (``report.conditions``, from the latest screening or given
  explicitly): when they are unknown, an escalation that depends on them does not fire,
  but ``policy.conditions-unknown`` is added (call today) and its advice says what to do
  if the patient has one of them;
* emergency questions a questionnaire left blank (policy.unanswered-red-flags);
* the patient's own words, as read by ``nlp/`` (:mod:`needlewise.domain.triage_text`):
  they only ever add reasons, and a time they state ("for four days") is one more
  reading of time since treatment for the escalations.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from needlewise.domain.facts import (
    FreeTextReading,
    HoursWindow,
    PatientCondition,
    StatedTime,
    SymptomReport,
    Temperature,
    TextMention,
)
from needlewise.domain.triage_text import read_free_text
from needlewise.knowledge.base import KnowledgeBase, KnowledgeStamp
from needlewise.knowledge.schema import Escalation, Symptom, Tier
from needlewise.knowledge.schema import Temperature as FeverRule


class UnknownSymptom(ValueError):
    """A report names a symptom id the knowledge base does not have."""


@dataclass(frozen=True)
class Reason:
    """Why the disposition is what it is: a rule id and the input it matched."""

    rule: str
    matched: str
    tier: Tier
    title: str
    free_text: tuple[TextMention, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "tier": self.tier.value,
            "title": self.title,
            "matched": self.matched,
            "free_text": [m.to_json() for m in self.free_text],
        }


@dataclass(frozen=True)
class TriageResult:
    """The disposition and its reasons (JSON field names are a public contract)."""

    disposition: Tier
    reasons: tuple[Reason, ...]
    advice: str
    language: str
    knowledge: KnowledgeStamp
    citations: dict[str, str] = field(default_factory=dict)
    free_text: FreeTextReading | None = None
    conditions: tuple[PatientCondition, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "disposition": self.disposition.value,
            "reasons": [r.to_json() for r in self.reasons],
            "advice": self.advice,
            "language": self.language,
            "knowledge": self.knowledge.to_json(),
            "citations": dict(self.citations),
            "free_text": self.free_text.to_json() if self.free_text is not None else None,
            "conditions": (
                None
                if self.conditions is None
                else [
                    {"condition": c.condition, "where": c.where, "certainty": c.certainty}
                    for c in self.conditions
                ]
            ),
        }


def fever_reached(temperature: Temperature, rule: FeverRule) -> bool:
    """True when ``temperature`` is at or above the fever cut-off in its own unit."""
    limit = rule.min_celsius if temperature.unit == "Cel" else rule.min_fahrenheit
    if rule.inclusive:
        return temperature.value >= limit
    return temperature.value > limit


def _fever_symptom(kb: KnowledgeBase) -> Symptom | None:
    return next((s for s in kb.symptoms if s.temperature is not None), None)


def _time_condition(
    limit: float,
    at_most: bool,
    hours: HoursWindow | None,
    stated: tuple[StatedTime, ...],
) -> str | None:
    """Why a time window is satisfied, or ``None`` when no reading allows it.

    Unknown time since treatment counts as inside the window. A duration the patient
    wrote ("sore for four days") can satisfy a "more than" window, which the
    escalations use for how long a symptom has lasted; it says nothing about when the
    treatment was, so it never decides an "at most" window. Either way it can only add
    a match, never take one away.
    """
    wording = "at most" if at_most else "more than"

    def inside(window: HoursWindow) -> bool:
        return window.could_be_at_most(limit) if at_most else window.could_be_more_than(limit)

    if hours is None:
        return f"time since treatment not given (counted as {wording} {limit:g} h)"
    if inside(hours):
        return f"{hours.describe()} since treatment"
    for time in stated if not at_most else ():
        if inside(time.hours):
            return f'free text: "{time.quote}" ({time.hours.describe()})'
    return None


class _NeedsConditions:
    """An escalation that would fire if the patient had one of its conditions."""


NEEDS_CONDITIONS = _NeedsConditions()


def _regions_condition(
    escalation: Escalation, report: SymptomReport, kb: KnowledgeBase
) -> str | None:
    """Why the treated regions satisfy the escalation, or ``None`` when they do not."""
    when = escalation.when
    if report.regions is None:
        return "treated regions not given (counted as matching)"
    if when.regions_any:
        shared = [r for r in report.regions if r in when.regions_any]
        return "treated: " + ", ".join(shared) if shared else None
    named = []
    for region_id in report.regions:
        region = kb.region(region_id)
        if region is None or region.near_lung is False:
            continue
        unconfirmed = region.near_lung == "unknown"
        named.append(
            region_id + (" (near the lung not confirmed: counted as near)" if unconfirmed else "")
        )
    return "treated near the lung: " + ", ".join(named) if named else None


def _escalation_matches(
    escalation: Escalation, present: set[str], report: SymptomReport, kb: KnowledgeBase
) -> str | _NeedsConditions | None:
    """Why ``escalation`` fires, ``None`` when it does not, or :data:`NEEDS_CONDITIONS`
    when everything holds but the patient's conditions, which are not known."""
    when = escalation.when
    if when.symptoms_any and not present.intersection(when.symptoms_any):
        return None
    if when.symptoms_all and not present.issuperset(when.symptoms_all):
        return None
    if when.and_any and not present.intersection(when.and_any):
        return None
    notes = sorted(present.intersection(when.symptoms_any + when.symptoms_all + when.and_any))
    if when.regions_any or when.near_lung_regions:
        why_regions = _regions_condition(escalation, report, kb)
        if why_regions is None:
            return None
        notes.append(why_regions)
    stated = report.free_text.times if report.free_text is not None else ()
    for limit, at_most in ((when.hours_at_most, True), (when.hours_more_than, False)):
        if limit is None:
            continue
        why = _time_condition(limit, at_most, report.hours, stated)
        if why is None:
            return None
        notes.append(why)
    if when.conditions_any:
        if report.conditions is None:
            return NEEDS_CONDITIONS
        had = [c for c in report.conditions if c.condition in when.conditions_any]
        if not had:
            return None
        notes.append(
            "patient condition: "
            + "; ".join(
                f"{c.condition} ({c.where}{', not sure: counted as present' if c.certainty == 'possible' else ''})"
                for c in had
            )
        )
    return "; ".join(notes)


def _merge(reasons: list[Reason]) -> list[Reason]:
    """One reason per rule: a symptom both ticked and written about is listed once,
    at the highest tier any of its reports reached, with every input it matched."""
    merged: dict[str, Reason] = {}
    for reason in reasons:
        seen = merged.get(reason.rule)
        if seen is None:
            merged[reason.rule] = reason
        else:
            tier = max(seen.tier, reason.tier, key=lambda t: t.rank)
            merged[reason.rule] = Reason(
                reason.rule,
                f"{seen.matched}; {reason.matched}",
                tier,
                seen.title,
                seen.free_text + reason.free_text,
            )
    return list(merged.values())


def triage(report: SymptomReport, kb: KnowledgeBase) -> TriageResult:
    """Decide the after-treatment disposition for one check-in."""
    language = report.language
    reasons: list[Reason] = []
    present: set[str] = set()
    policies: list[str] = []

    for reported in report.symptoms:
        symptom = kb.symptom(reported.symptom)
        if symptom is None:
            raise UnknownSymptom(reported.symptom)
        present.add(symptom.id)
        tier = symptom.tier
        matched = reported.where
        if reported.certainty == "possible":
            policies.append("policy.unclear-symptom")
            matched += " (not sure: counted as present)"
            if tier is Tier.self_care:
                tier = Tier.call_provider
        reasons.append(Reason(symptom.id, matched, tier, symptom.title.get(language)))

    temperatures = [report.temperature] if report.temperature is not None else []
    if report.free_text is not None:
        text = read_free_text(report.free_text, kb, language)
        present |= text.present
        policies.extend(text.policies)
        temperatures.extend(text.temperatures)
        for finding in text.findings:
            reasons.append(
                Reason(finding.rule, finding.matched, finding.tier, finding.title, finding.mentions)
            )

    fever = _fever_symptom(kb)
    measured_below = False  # a temperature was measured and none reached the cut-off
    if fever is not None and fever.temperature is not None:
        rule = fever.temperature
        reached = [t for t in temperatures if fever_reached(t, rule)]
        measured_below = bool(temperatures) and not reached
        if reached:
            parts = []
            for temperature in reached:
                unit = temperature.unit
                limit = rule.min_celsius if unit == "Cel" else rule.min_fahrenheit
                shown = "°C" if unit == "Cel" else "°F"
                parts.append(
                    f"{temperature.where}: {temperature.value:g} {shown}"
                    f" is at or above {limit:g} {shown}"
                )
            present.add(fever.id)
            reasons.append(
                Reason(fever.id, "; ".join(parts), fever.tier, fever.title.get(language))
            )

    # chills stand in for a fever in the escalations only while no temperature is known
    felt_only = {s.id for s in kb.symptoms if s.unmeasured_fever} & present
    if measured_below and felt_only:
        reasons = [
            Reason(
                r.rule,
                r.matched + "; a measured temperature is below the fever cut-off:"
                " not counted as a fever",
                r.tier,
                r.title,
                r.free_text,
            )
            if r.rule in felt_only
            else r
            for r in reasons
        ]
    escalating = present - felt_only if measured_below else present

    waiting: list[str] = []  # escalations that need the unknown health history
    for escalation in kb.data.escalations:
        details = _escalation_matches(escalation, escalating, report, kb)
        if isinstance(details, str):
            reasons.append(
                Reason(escalation.id, details, escalation.tier, escalation.title.get(language))
            )
        elif details is NEEDS_CONDITIONS:
            waiting.append(escalation.id)
    if waiting:
        policy = kb.policy("policy.conditions-unknown")
        policies.append(policy.id)
        reasons.append(
            Reason(
                policy.id,
                "would apply if the patient has one of their conditions: " + ", ".join(waiting),
                policy.tier or Tier.call_provider,
                policy.title.get(language),
            )
        )

    if report.unanswered_red_flags:
        policy = kb.policy("policy.unanswered-red-flags")
        policies.append(policy.id)
        reasons.append(
            Reason(
                policy.id,
                "not answered: " + ", ".join(report.unanswered_red_flags),
                policy.tier or Tier.call_provider,
                policy.title.get(language),
            )
        )

    reasons = _merge(reasons)
    disposition = max((r.tier for r in reasons), key=lambda t: t.rank, default=Tier.self_care)
    reasons.sort(key=lambda r: -r.tier.rank)  # stable: input order within a tier

    lines = [kb.disposition(disposition).advice.get(language)]
    if disposition is not Tier.emergency:
        for reason in reasons:
            symptom = kb.symptom(reason.rule)
            if symptom is not None and symptom.advice is not None:
                tip = symptom.advice.get(language)
                if tip not in lines:
                    lines.append(tip)
    for policy_id in dict.fromkeys(policies):
        if policy_id == "policy.conditions-unknown" and disposition is Tier.emergency:
            continue  # already told to call 911: "if you have X, call 911" adds nothing
        lines.append(kb.policy(policy_id).explanation.get(language))
        if policy_id == "policy.conditions-unknown":
            for escalation_id in waiting:
                item = kb.get(escalation_id)
                unknown_tip = getattr(item, "if_conditions_unknown", None)
                if unknown_tip is not None:
                    lines.append(unknown_tip.get(language))

    cited: list[str] = list(kb.disposition(disposition).sources)
    for reason in reasons:
        item = kb.get(reason.rule)
        cited.extend(getattr(item, "sources", []))
    return TriageResult(
        disposition=disposition,
        reasons=tuple(reasons),
        advice="\n\n".join(lines),
        language=language,
        knowledge=kb.stamp,
        citations=kb.citations(cited),
        free_text=report.free_text,
        conditions=report.conditions,
    )
