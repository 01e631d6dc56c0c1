"""Canonical inputs of the clinical engines.

Every door (FHIR, CLI JSON, API, web forms) turns its input into these plain,
immutable objects; the engines in this package only ever see them. Each fact keeps
``where`` it came from, so every decision can name the input that triggered it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

Answer = Literal["yes", "no", "unsure"]
Laterality = Literal["left", "right", "bilateral", "midline"]
TemperatureUnit = Literal["Cel", "[degF]"]

#: readings outside these ranges are not plausible body temperatures (every door checks)
PLAUSIBLE_TEMPERATURE: dict[str, tuple[float, float]] = {
    "Cel": (25.0, 45.0),
    "[degF]": (77.0, 113.0),
}


@dataclass(frozen=True, slots=True)
class IntakeAnswer:
    """A patient's answer to one intake question (the question's linkId is the rule id)."""

    rule: str
    answer: Answer
    where: str


class Code(NamedTuple):
    """A coding found in a record (a named tuple: records hold many, built fast)."""

    system: str
    code: str
    display: str | None = None


class ClinicalRecord(NamedTuple):
    """One active EHR record that may reveal a contraindication.

    Records that are inactive, resolved, refuted or entered in error never become a
    ``ClinicalRecord``: the FHIR reader drops them (see ``interop/fhir/records.py``).
    """

    resource_type: str
    reference: str
    codes: tuple[Code, ...]
    text: str | None = None
    values: tuple[Code, ...] = ()
    interpretations: tuple[str, ...] = ()
    quantity: tuple[float, str | None] | None = None
    when: str | None = None
    qualifier: str | None = None


def _empty_answers() -> Mapping[str, IntakeAnswer]:
    return MappingProxyType({})


@dataclass(frozen=True)
class PatientFacts:
    """Everything screening knows about one patient on one day.

    ``birth_date`` is the latest day a (possibly partial) recorded birth date can mean,
    so ages err young; ``birth_date_recorded`` is the date as recorded, for evidence.
    """

    as_of: date
    answers: Mapping[str, IntakeAnswer] = field(default_factory=_empty_answers)
    records: tuple[ClinicalRecord, ...] = ()
    birth_date: date | None = None
    birth_date_recorded: str | None = None
    patient_reference: str | None = None
    electrical_stimulation: bool | None = None


@dataclass(frozen=True, slots=True)
class ReportedSymptom:
    """A symptom the patient reported; ``possible`` when the report was unclear."""

    symptom: str
    where: str
    certainty: Literal["present", "possible"] = "present"


@dataclass(frozen=True, slots=True)
class Temperature:
    """A measured temperature in UCUM units ``Cel`` or ``[degF]``."""

    value: float
    unit: TemperatureUnit
    where: str


@dataclass(frozen=True, slots=True)
class HoursWindow:
    """Time since treatment, as an interval of hours (``high`` may be infinite).

    An exact number of hours is the interval ``[h, h]``. ``high`` is always included;
    ``low`` is included unless ``low_open`` ("more than 3 days ago" is ``(72, inf)``: 72 h
    itself is not in it). Rules compare against the interval conservatively: a window
    that *could* satisfy a condition does, but a bound the interval excludes never does.
    """

    low: float
    high: float = math.inf
    low_open: bool = False

    @classmethod
    def exactly(cls, hours: float) -> HoursWindow:
        return cls(hours, hours)

    def could_be_at_most(self, hours: float) -> bool:
        return self.low < hours or (self.low == hours and not self.low_open)

    def could_be_more_than(self, hours: float) -> bool:
        return self.high > hours

    def describe(self) -> str:
        if self.low == self.high:
            return f"{self.low:g} h"
        if math.isinf(self.high):
            return f"{'more than' if self.low_open else 'at least'} {self.low:g} h"
        return f"{self.low:g}-{self.high:g} h"


MentionStatus = Literal["present", "uncertain", "negated", "resolved", "hypothetical"]


@dataclass(frozen=True, slots=True)
class TextModifier:
    """A ConText modifier that changed what a mention means ("negated by 'no'")."""

    category: str
    rule: str
    trigger: str

    def to_json(self) -> dict[str, str]:
        return {"category": self.category, "rule": self.rule, "trigger": self.trigger}


@dataclass(frozen=True, slots=True)
class TextMention:
    """One concept found in the patient's own words, with why it was read that way.

    ``concept`` is a symptom id, or ``no-complaints`` ("I feel fine"). ``quote`` is the
    patient's words (``start``/``end`` are character offsets in the message);
    ``read_as`` lists misspelled words and the vocabulary word each was read as.
    """

    concept: str
    pattern: str
    status: MentionStatus
    quote: str
    start: int
    end: int
    modifiers: tuple[TextModifier, ...] = ()
    read_as: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """One line for a reason's ``matched``: the quote, the pattern and the context."""
        notes = [self.pattern]
        notes += [f"{w!r} read as {v!r}" for w, v in self.read_as]
        notes += [f"{m.category}: {m.trigger!r}" for m in self.modifiers]
        return f'free text: "{self.quote}" ({"; ".join(notes)})'

    def to_json(self) -> dict[str, Any]:
        return {
            "concept": self.concept,
            "pattern": self.pattern,
            "status": self.status,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "modifiers": [m.to_json() for m in self.modifiers],
            "read_as": [{"written": w, "read_as": v} for w, v in self.read_as],
        }


@dataclass(frozen=True, slots=True)
class TextTemperature:
    """A temperature written in a message; ``unit`` is ``None`` when it is implausible.

    ``unit_source`` says whether the unit was written or inferred from the value's range.
    """

    value: float
    unit: TemperatureUnit | None
    unit_source: Literal["written", "inferred", "none"]
    quote: str

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "unit_source": self.unit_source,
            "plausible": self.unit is not None,
            "quote": self.quote,
        }


@dataclass(frozen=True, slots=True)
class StatedTime:
    """A time or duration written in a message ("for four days"), as hours."""

    hours: HoursWindow
    quote: str
    rule: str

    def to_json(self) -> dict[str, Any]:
        high = None if math.isinf(self.hours.high) else self.hours.high
        return {"quote": self.quote, "rule": self.rule, "hours": [self.hours.low, high]}


@dataclass(frozen=True)
class FreeTextReading:
    """What the free-text reader (``nlp/``) found in one message.

    ``understood`` is false when part of the message matched nothing we know and nothing
    in it counts as a finding; ``other_language`` names a language we cannot read.
    """

    language: str
    mentions: tuple[TextMention, ...] = ()
    temperatures: tuple[TextTemperature, ...] = ()
    times: tuple[StatedTime, ...] = ()
    understood: bool = True
    unknown_words: int = 0
    other_language: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "understood": self.understood,
            "unknown_words": self.unknown_words,
            "other_language": self.other_language,
            "mentions": [m.to_json() for m in self.mentions],
            "temperatures": [t.to_json() for t in self.temperatures],
            "times": [t.to_json() for t in self.times],
        }


@dataclass(frozen=True, slots=True)
class PatientCondition:
    """A condition of the patient that triage weighs (a contraindication id).

    It comes from the patient's latest screening (a finding, present or possible) or is
    given explicitly to ``triage``; ``where`` says which.
    """

    condition: str
    where: str
    certainty: Literal["present", "possible"] = "present"


@dataclass(frozen=True)
class SymptomReport:
    """An after-treatment check-in, in canonical form.

    ``hours`` and ``regions`` are ``None`` when unknown; unknown never lowers a tier.
    ``conditions`` are the patient's relevant conditions; ``None`` when the health history
    is not known (an empty tuple: known, none of them).
    ``unanswered_red_flags`` lists emergency questions a questionnaire left blank.
    ``free_text`` is what the reader found in the patient's own words, if any; it can
    only add to what the structured answers say.
    """

    symptoms: tuple[ReportedSymptom, ...] = ()
    temperature: Temperature | None = None
    hours: HoursWindow | None = None
    regions: tuple[str, ...] | None = None
    language: str = "en"
    unanswered_red_flags: tuple[str, ...] = ()
    free_text: FreeTextReading | None = None
    conditions: tuple[PatientCondition, ...] | None = None


@dataclass(frozen=True, slots=True)
class NeedledMuscle:
    """One muscle needled in a session, with its side."""

    muscle: str
    laterality: Laterality


@dataclass(frozen=True)
class SessionRecord:
    """What was needled in one session (the input of session coding)."""

    muscles: tuple[NeedledMuscle, ...]
    payer: Literal["medicare", "commercial", "workers-comp", "military"] | None = None
    language: str = "en"
