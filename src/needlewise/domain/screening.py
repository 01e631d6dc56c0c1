"""Contraindication screening: ``screen(facts, kb) -> ScreeningResult``.

Decision rules (architecture.md, "Canonical results"):

* ``not-eligible`` when any **absolute** rule fires with certainty ``present``;
* ``review`` when anything else fires (including a "not sure" answer, which is a
  ``possible`` finding: policy.unsure-answer) or any required question is unanswered
  (policy.unanswered-required); a follow-up question (``asked_if``, e.g. the trimester)
  is required only when the answer it follows enables it;
* ``eligible`` only when every required question is answered and nothing fired.

Coded EHR data can only add findings, never clear one: a "no" answer does not cancel a
warfarin prescription. Every finding names its rule, the input that fired it and the
rule's sources. This module is pure: no I/O.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from needlewise.domain.facts import ClinicalRecord, PatientFacts
from needlewise.knowledge.base import KnowledgeBase, KnowledgeStamp
from needlewise.knowledge.codeindex import normalize_code, normalize_system, system_name
from needlewise.knowledge.schema import Coding, Contraindication, Level, Threshold

Decision = Literal["eligible", "review", "not-eligible"]
Certainty = Literal["present", "possible"]

_LEVEL_ORDER = {Level.absolute: 0, Level.relative: 1, Level.precaution: 2}
_MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})
_ANSWER_WORDS = {"yes": "yes", "no": "no", "unsure": "not sure"}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass
class Finding:
    """One rule that fired, with every piece of evidence for it."""

    rule: str
    level: Level
    title: str
    evidence: list[str]
    sources: list[str]
    certainty: Certainty

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level.value,
            "title": self.title,
            "certainty": self.certainty,
            "evidence": list(self.evidence),
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class ScreeningResult:
    """The screening decision with its findings (JSON field names are a public contract)."""

    decision: Decision
    findings: tuple[Finding, ...]
    unanswered: tuple[str, ...]
    policies: tuple[str, ...]
    knowledge: KnowledgeStamp
    language: str
    citations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "findings": [f.to_json() for f in self.findings],
            "unanswered": list(self.unanswered),
            "policies": list(self.policies),
            "knowledge": self.knowledge.to_json(),
            "language": self.language,
            "citations": dict(self.citations),
        }


@dataclass
class _Accumulator:
    rule: Contraindication
    evidence: list[str] = field(default_factory=list)
    certainty: Certainty = "possible"
    references: set[str] = field(default_factory=set)

    def add(self, text: str, certainty: Certainty, reference: str | None = None) -> None:
        if text not in self.evidence:
            self.evidence.append(text)
        if certainty == "present":
            self.certainty = "present"
        if reference is not None:
            self.references.add(reference)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _coding_text(system: str, code: str, display: str | None) -> str:
    shown = f" ({display})" if display else ""
    return f"{system_name(normalize_system(system))} {code}{shown}"


def _record_suffix(record: ClinicalRecord) -> str:
    parts = [p for p in (record.qualifier, f"dated {record.when}" if record.when else None) if p]
    return f" [{'; '.join(parts)}]" if parts else ""


def _matches(value_system: str, value_code: str, options: list[Coding]) -> Coding | None:
    system = normalize_system(value_system)
    code = normalize_code(system, value_code)
    for option in options:
        if option.system == system and option.code == code:
            return option
    return None


class _Screen:
    def __init__(self, facts: PatientFacts, kb: KnowledgeBase) -> None:
        self.facts = facts
        self.kb = kb
        self.fired: dict[str, _Accumulator] = {}

    def fire(self, rule_id: str, text: str, certainty: Certainty, ref: str | None = None) -> None:
        rule = self.kb.contraindication(rule_id)
        if rule is None:  # pragma: no cover - the code index is built from the same rules
            raise LookupError(f"code index names unknown rule {rule_id}")
        accumulator = self.fired.get(rule_id)
        if accumulator is None:
            accumulator = self.fired[rule_id] = _Accumulator(rule)
        accumulator.add(text, certainty, ref)

    def answers(self) -> None:
        for rule_id, answer in self.facts.answers.items():
            rule = self.kb.contraindication(rule_id)
            if rule is None:
                continue
            said = f"{answer.where} = {_ANSWER_WORDS[answer.answer]}"
            if answer.answer == "unsure":
                self.fire(rule.id, said, "possible")
            elif answer.answer == rule.fires_on:
                self.fire(rule.id, said, "present")

    def records(self) -> None:
        codes = self.kb.codes
        for record in self.facts.records:
            if record.resource_type == "Observation":
                self.observation(record)
                continue
            for coding in record.codes:
                by_rule: dict[str, list[str]] = {}
                for hit in codes.lookup(record.resource_type, coding.system, coding.code):
                    unverified = "" if hit.verified else " (code marked unverified)"
                    by_rule.setdefault(hit.rule, []).append(hit.via + unverified)
                for rule_id, vias in by_rule.items():
                    shown = "; ".join(vias[:3]) + (
                        f"; and {len(vias) - 3} more" if len(vias) > 3 else ""
                    )
                    text = (
                        f"{record.reference} {_coding_text(coding.system, coding.code, coding.display)}"
                        f" matched {shown}{_record_suffix(record)}"
                    )
                    self.fire(rule_id, text, "present", record.reference)
            if record.resource_type in _MEDICATION_TYPES:
                words = " ".join(
                    [c.display for c in record.codes if c.display] + [record.text or ""]
                )
                for rule_id, name in codes.names_in(words):
                    accumulator = self.fired.get(rule_id)
                    if accumulator is not None and record.reference in accumulator.references:
                        continue  # already matched by code; the name adds nothing
                    text = (
                        f"{record.reference} medicine '{words.strip()[:80]}' names {name}"
                        f"{_record_suffix(record)}"
                    )
                    self.fire(rule_id, text, "present", record.reference)

    def observation(self, record: ClinicalRecord) -> None:
        for coding in record.codes:
            for hit in self.kb.codes.observation(coding.system, coding.code):
                trigger = hit.trigger
                head = (
                    f"{record.reference} {_coding_text(coding.system, coding.code, coding.display)}"
                )
                for value in record.values:
                    fired = _matches(value.system, value.code, trigger.fire_values)
                    unclear = _matches(value.system, value.code, trigger.unclear_values)
                    shown = _coding_text(value.system, value.code, value.display)
                    if fired is not None:
                        text = f"{head} = {shown}{_record_suffix(record)}"
                        self.fire(hit.rule, text, "present", record.reference)
                    elif unclear is not None:
                        text = f"{head} = {shown} (unclear){_record_suffix(record)}"
                        self.fire(hit.rule, text, "possible", record.reference)
                if trigger.threshold is not None and record.quantity is not None:
                    self.threshold(record, head, hit.rule, trigger.threshold)
                for flag in record.interpretations:
                    if flag in trigger.fire_interpretations:
                        text = (
                            f"{head} flagged '{flag}' by the laboratory (no numeric threshold "
                            f"is known for dry needling){_record_suffix(record)}"
                        )
                        self.fire(hit.rule, text, "present", record.reference)

    def threshold(self, record: ClinicalRecord, head: str, rule_id: str, limit: Threshold) -> None:
        assert record.quantity is not None
        value, unit = record.quantity
        shown = f"{head} = {value:g} {unit or '(no unit)'}"
        if unit != limit.unit:
            # cannot compare across units: unclear, so it counts as possible (escalates)
            self.fire(
                rule_id,
                f"{shown}; threshold is in {limit.unit}, cannot compare",
                "possible",
                record.reference,
            )
        elif _COMPARE[limit.comparator](value, limit.value):
            text = (
                f"{shown} {limit.comparator} {limit.value:g} {limit.unit}{_record_suffix(record)}"
            )
            self.fire(rule_id, text, "present", record.reference)

    def age(self) -> None:
        birth = self.facts.birth_date
        if birth is None:
            return
        age = _age_on(birth, self.facts.as_of)
        for rule in self.kb.age_rules:
            age_rule = rule.triggers.age
            if age_rule is not None and age < age_rule.under_years:
                who = self.facts.patient_reference or "Patient"
                note = "" if age_rule.verified else " (age cut-off unverified)"
                recorded = self.facts.birth_date_recorded or birth.isoformat()
                if recorded != birth.isoformat():
                    recorded += f" (read as {birth.isoformat()}, the latest day it can mean)"
                text = (
                    f"{who} birthDate {recorded}: age {age} on "
                    f"{self.facts.as_of.isoformat()}, under {age_rule.under_years}{note}"
                )
                self.fire(rule.id, text, "present", who)

    def plan_excludes(self, rule: Contraindication) -> bool:
        return (
            rule.requires_plan == "electrical-stimulation"
            and self.facts.electrical_stimulation is False
        )


def _is_asked(rule: Contraindication, facts: PatientFacts) -> bool:
    """A follow-up question (``asked_if``) is asked only after one of its answers; a
    question it follows that is itself unanswered is reported instead."""
    if rule.asked_if is None:
        return True
    given = facts.answers.get(rule.asked_if.rule)
    return given is not None and given.answer in rule.asked_if.answers


def screen(facts: PatientFacts, kb: KnowledgeBase, language: str = "en") -> ScreeningResult:
    """Screen one patient against every contraindication in ``kb``."""
    run = _Screen(facts, kb)
    run.answers()
    run.records()
    run.age()
    policies: list[str] = []
    findings: list[Finding] = []
    for rule in kb.contraindications:
        accumulator = run.fired.get(rule.id)
        if accumulator is None or run.plan_excludes(rule):
            continue
        if rule.requires_plan == "electrical-stimulation":
            if facts.electrical_stimulation is None:
                accumulator.add(
                    "electrical stimulation plan not given: counted as planned", "possible"
                )
                policies.append("policy.plan-unknown")
            else:
                accumulator.add("electrical stimulation is planned", "possible")
        if accumulator.certainty == "possible":
            policies.append("policy.unsure-answer")
        findings.append(
            Finding(
                rule=rule.id,
                level=rule.level,
                title=rule.title.get(language),
                evidence=accumulator.evidence,
                sources=list(rule.sources),
                certainty=accumulator.certainty,
            )
        )
    findings.sort(key=lambda f: _LEVEL_ORDER[f.level])  # stable: knowledge order within a level

    age_known = facts.birth_date is not None
    unanswered = tuple(
        rule.id
        for rule in kb.required_rules
        if rule.id not in facts.answers
        and not (rule.requires_plan is not None and run.plan_excludes(rule))
        and not (age_known and rule.triggers.age is not None)
        and _is_asked(rule, facts)
    )
    if unanswered:
        policies.append("policy.unanswered-required")

    if any(f.level is Level.absolute and f.certainty == "present" for f in findings):
        decision: Decision = "not-eligible"
    elif findings or unanswered:
        decision = "review"
    else:
        decision = "eligible"

    policy_ids = tuple(dict.fromkeys(policies))
    cited = [s for f in findings for s in f.sources]
    cited += [s for p in policy_ids for s in kb.policy(p).sources]
    return ScreeningResult(
        decision=decision,
        findings=tuple(findings),
        unanswered=unanswered,
        policies=policy_ids,
        knowledge=kb.stamp,
        language=language,
        citations=kb.citations(cited),
    )
