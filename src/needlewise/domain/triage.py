"""After-treatment triage: ``triage(report, kb) -> TriageResult``.

The disposition is the highest tier any reason reaches (emergency > call-provider >
self-care). Reasons come from:

* each reported symptom, at its tier from the knowledge base; a symptom the patient is
  unsure about counts as present, and an unsure self-care symptom moves up to
  call-provider (policy.unclear-symptom);
* a measured temperature at or above the fever cut-off, in the unit it was given in
  (38.0 °C or 100.4 °F, inclusive: no rounding through a unit conversion);
* escalations (sourced combinations, e.g. a new cough within 72 h of needling near the
  lung); unknown time since treatment counts as inside every window and unknown treated
  regions count as matching, so missing input never lowers the tier;
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

    def to_json(self) -> dict[str, Any]:
        return {
            "disposition": self.disposition.value,
            "reasons": [r.to_json() for r in self.reasons],
            "advice": self.advice,
            "language": self.language,
            "knowledge": self.knowledge.to_json(),
            "citations": dict(self.citations),
            "free_text": self.free_text.to_json() if self.free_text is not None else None,
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


def _escalation_matches(
    escalation: Escalation, present: set[str], report: SymptomReport, kb: KnowledgeBase
) -> str | None:
    when = escalation.when
    if when.symptoms_any and not present.intersection(when.symptoms_any):
        return None
    if when.symptoms_all and not present.issuperset(when.symptoms_all):
        return None
    notes = sorted(present.intersection(when.symptoms_any + when.symptoms_all))
    if when.regions_any:
        if report.regions is None:
            notes.append("treated regions not given (counted as matching)")
        else:
            shared = [r for r in report.regions if r in when.regions_any]
            if not shared:
                return None
            notes.append("treated: " + ", ".join(shared))
    stated = report.free_text.times if report.free_text is not None else ()
    for limit, at_most in ((when.hours_at_most, True), (when.hours_more_than, False)):
        if limit is None:
            continue
        why = _time_condition(limit, at_most, report.hours, stated)
        if why is None:
            return None
        notes.append(why)
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
    if fever is not None and fever.temperature is not None:
        rule = fever.temperature
        reached = [t for t in temperatures if fever_reached(t, rule)]
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

    for escalation in kb.data.escalations:
        details = _escalation_matches(escalation, present, report, kb)
        if details is not None:
            reasons.append(
                Reason(escalation.id, details, escalation.tier, escalation.title.get(language))
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
        lines.append(kb.policy(policy_id).explanation.get(language))

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
    )
