"""Screening, risks and aftercare: contraindications, indications, risks, symptoms,
escalations, dispositions, regions and muscles."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from needlewise.knowledge.schema.common import (
    CodeRef,
    ContraindicationId,
    Evidence,
    Level,
    Provenance,
    RegionId,
    SourceId,
    Strict,
    SymptomId,
    Text,
    Tier,
    Triggers,
)

# ------------------------------------------------------------------ screening


class Contraindication(Provenance):
    """A contraindication or precaution, with its intake question and EHR triggers."""

    id: ContraindicationId
    title: Text
    level: Level
    level_rationale: Text
    question: Text
    help: Text | None = None
    fires_on: Literal["yes", "no"] = "yes"
    required: bool = True
    requires_plan: Literal["electrical-stimulation"] | None = None
    clinician_note: Text | None = None
    triggers: Triggers = Triggers()
    gaps: str | None = None


class Indication(Provenance):
    """A reason dry needling is offered, with ICD-10-CM codes."""

    id: Annotated[str, StringConstraints(pattern=r"^indication\.[a-z0-9-]+$")]
    title: Text
    codes: list[CodeRef] = Field(min_length=1)
    note: Text | None = None


# ------------------------------------------------------------------ risks


class Incidence(Strict):
    """One published frequency figure for a risk."""

    source: SourceId
    value: float = Field(ge=0)
    unit: Literal["percent"]
    per: Literal["treatments", "sessions", "patients", "respondents"]
    numerator: int | None = Field(default=None, ge=0)
    denominator: int | None = Field(default=None, gt=0)
    upper_bound: bool = False
    evidence: Evidence
    note: str | None = None


class Risk(Provenance):
    """A risk disclosed at consent, with its published incidence figures."""

    id: Annotated[str, StringConstraints(pattern=r"^risk\.[a-z0-9-]+$")]
    title: Text
    description: Text
    category: Literal["common", "uncommon", "rare", "serious"]
    incidence: list[Incidence] = []
    gaps: str | None = None


# ------------------------------------------------------------------ aftercare


class Temperature(Strict):
    """A measured-temperature rule. Both cut-offs are inclusive when ``inclusive``."""

    min_celsius: float
    min_fahrenheit: float
    inclusive: bool = True


class Symptom(Provenance):
    """An after-treatment symptom and the tier it puts the patient in."""

    id: SymptomId
    tier: Tier
    title: Text
    question: Text
    advice: Text | None = None
    temperature: Temperature | None = None


class EscalationWhen(Strict):
    """Conditions of an escalation. Every given condition must hold.

    Missing input never blocks an escalation: unknown treated regions count as
    matching ``regions_any`` and unknown time counts as inside any time window.
    """

    symptoms_any: list[SymptomId] = []
    symptoms_all: list[SymptomId] = []
    regions_any: list[RegionId] = []
    hours_at_most: float | None = Field(default=None, gt=0)
    hours_more_than: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _has_symptom_condition(self) -> EscalationWhen:
        if not self.symptoms_any and not self.symptoms_all:
            raise ValueError("an escalation needs symptoms_any or symptoms_all")
        return self


class Escalation(Provenance):
    """A combination of findings that raises the tier (a sourced 'triage tuple')."""

    id: Annotated[str, StringConstraints(pattern=r"^escalation\.[a-z0-9-]+$")]
    title: Text
    tier: Tier
    when: EscalationWhen
    explanation: Text


class Disposition(Provenance):
    """Plain-language instructions for one tier."""

    id: Annotated[str, StringConstraints(pattern=r"^disposition\.[a-z0-9-]+$")]
    tier: Tier
    title: Text
    advice: Text


class Region(Provenance):
    """A body region that may be treated. ``near_lung`` marks pneumothorax-risk regions."""

    id: RegionId
    title: Text
    near_lung: bool


class Muscle(Provenance):
    """A muscle that may be needled (payers ask for each muscle by name)."""

    id: Annotated[str, StringConstraints(pattern=r"^muscle\.[a-z0-9-]+$")]
    title: Text
    region: RegionId
    near_lung: bool = False
    compressible: bool = True
