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
from typing import Literal, NamedTuple

Answer = Literal["yes", "no", "unsure"]
Laterality = Literal["left", "right", "bilateral", "midline"]
TemperatureUnit = Literal["Cel", "[degF]"]


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

    An exact number of hours is the interval ``(h, h)``. Rules compare against the
    interval conservatively: a window that *could* satisfy a condition does.
    """

    low: float
    high: float = math.inf

    @classmethod
    def exactly(cls, hours: float) -> HoursWindow:
        return cls(hours, hours)

    def could_be_at_most(self, hours: float) -> bool:
        return self.low <= hours

    def could_be_more_than(self, hours: float) -> bool:
        return self.high > hours

    def describe(self) -> str:
        if self.low == self.high:
            return f"{self.low:g} h"
        if math.isinf(self.high):
            return f"more than {self.low:g} h"
        return f"{self.low:g}-{self.high:g} h"


@dataclass(frozen=True)
class SymptomReport:
    """An after-treatment check-in, in canonical form.

    ``hours`` and ``regions`` are ``None`` when unknown; unknown never lowers a tier.
    ``unanswered_red_flags`` lists emergency questions a questionnaire left blank.
    """

    symptoms: tuple[ReportedSymptom, ...] = ()
    temperature: Temperature | None = None
    hours: HoursWindow | None = None
    regions: tuple[str, ...] | None = None
    language: str = "en"
    unanswered_red_flags: tuple[str, ...] = ()


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
