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
* emergency questions a questionnaire left blank (policy.unanswered-red-flags).

Free text is turned into reported symptoms before this function (``nlp/``). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from needlewise.domain.facts import SymptomReport, Temperature
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

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "tier": self.tier.value,
            "title": self.title,
            "matched": self.matched,
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

    def to_json(self) -> dict[str, Any]:
        return {
            "disposition": self.disposition.value,
            "reasons": [r.to_json() for r in self.reasons],
            "advice": self.advice,
            "language": self.language,
            "knowledge": self.knowledge.to_json(),
            "citations": dict(self.citations),
        }


def fever_reached(temperature: Temperature, rule: FeverRule) -> bool:
    """True when ``temperature`` is at or above the fever cut-off in its own unit."""
    limit = rule.min_celsius if temperature.unit == "Cel" else rule.min_fahrenheit
    if rule.inclusive:
        return temperature.value >= limit
    return temperature.value > limit


def _fever_symptom(kb: KnowledgeBase) -> Symptom | None:
    return next((s for s in kb.symptoms if s.temperature is not None), None)


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
    for limit, check, wording in (
        (when.hours_at_most, "at_most", "at most"),
        (when.hours_more_than, "more_than", "more than"),
    ):
        if limit is None:
            continue
        if report.hours is None:
            notes.append(f"time since treatment not given (counted as {wording} {limit:g} h)")
            continue
        inside = (
            report.hours.could_be_at_most(limit)
            if check == "at_most"
            else report.hours.could_be_more_than(limit)
        )
        if not inside:
            return None
        notes.append(f"{report.hours.describe()} since treatment")
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
                reason.rule, f"{seen.matched}; {reason.matched}", tier, seen.title
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

    fever = _fever_symptom(kb)
    if report.temperature is not None and fever is not None and fever.temperature is not None:
        rule = fever.temperature
        if fever_reached(report.temperature, rule):
            unit = report.temperature.unit
            limit = rule.min_celsius if unit == "Cel" else rule.min_fahrenheit
            shown = "°C" if unit == "Cel" else "°F"
            matched = (
                f"{report.temperature.where}: {report.temperature.value:g} {shown}"
                f" is at or above {limit:g} {shown}"
            )
            present.add(fever.id)
            reasons.append(Reason(fever.id, matched, fever.tier, fever.title.get(language)))

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
                Tier.call_provider,
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
    )
