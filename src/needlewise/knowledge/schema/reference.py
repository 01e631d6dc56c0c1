"""Billing, scope of practice, outcome measures and engine policies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from needlewise.knowledge.schema.common import (
    CodeRef,
    Coding,
    Evidence,
    NonEmpty,
    Provenance,
    SourceId,
    Strict,
    Text,
    Tier,
)

# ------------------------------------------------------------------ billing


class BillingCode(Provenance):
    """A CPT code chosen by the number of distinct muscles needled in a session."""

    id: Annotated[str, StringConstraints(pattern=r"^billing\.[a-z0-9-]+$")]
    code: Coding
    title: Text
    min_muscles: int = Field(ge=1)
    max_muscles: int | None = None
    effective: date


class CoverageNote(Provenance):
    """A payer coverage fact shown next to a billing line."""

    id: Annotated[str, StringConstraints(pattern=r"^coverage\.[a-z0-9-]+$")]
    payer: Literal["medicare", "commercial", "workers-comp", "military", "any"]
    title: Text
    text: Text


class DocumentationItem(Provenance):
    """Something payers ask to see in the session note."""

    id: Annotated[str, StringConstraints(pattern=r"^documentation\.[a-z0-9-]+$")]
    text: Text


class NcdLimits(Provenance):
    """Medicare NCD 30.3.3 (acupuncture for chronic low back pain) limits."""

    id: Annotated[str, StringConstraints(pattern=r"^coverage\.[a-z0-9-]+$")]
    title: Text
    effective: date
    initial_visits: int
    initial_window_days: int
    additional_visits_if_improving: int
    annual_max: int
    min_duration_weeks: int
    stop_rule: Text
    who_may_furnish: Text
    pending_changes: Text


class Billing(Strict):
    """Everything about billing in one file."""

    codes: list[BillingCode] = Field(min_length=1)
    coverage: list[CoverageNote] = []
    ncd: NcdLimits
    documentation: list[DocumentationItem] = []


# ------------------------------------------------------------------ scope


Profession = Literal["pt", "acupuncturist", "physician"]
ScopeStatus = Literal["allowed", "not-permitted", "silent", "unknown"]


class ScopeRecord(Strict):
    """Whether one profession may dry-needle in one state, as of a date."""

    profession: Profession
    status: ScopeStatus
    requirements: list[Text] = []
    note: Text | None = None
    as_of: date
    sources: list[SourceId] = Field(min_length=1)
    evidence: Evidence


class State(Provenance):
    """A US state (or DC) with one scope record per profession."""

    id: Annotated[str, StringConstraints(pattern=r"^state\.[a-z]{2}$")]
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    title: Text
    scope: list[ScopeRecord] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_record_per_profession(self) -> State:
        professions = [r.profession for r in self.scope]
        if len(professions) != len(set(professions)):
            raise ValueError(f"{self.id}: more than one scope record for a profession")
        if self.id != f"state.{self.code.lower()}":
            raise ValueError(f"{self.id}: id must be state.<code in lower case>")
        return self


class ProfessionInfo(Provenance):
    """A profession that may perform dry needling, with national notes."""

    id: Annotated[str, StringConstraints(pattern=r"^profession\.(pt|acupuncturist|physician)$")]
    code: Profession
    title: Text
    note: Text


# ------------------------------------------------------------------ outcomes


class Mcid(Strict):
    """A minimal clinically important difference for one population, with its source."""

    value: float = Field(gt=0)
    unit: Literal["points", "percent", "percentage-points"]
    population: Text
    source: SourceId
    evidence: Evidence
    note: str | None = None


class Measure(Provenance):
    """An outcome measure with its range and MCIDs."""

    id: Annotated[str, StringConstraints(pattern=r"^measure\.[a-z0-9-]+$")]
    abbreviation: NonEmpty
    title: Text
    measures_what: Text
    min_score: float
    max_score: float
    higher_is_worse: bool
    scoring: Text
    loinc: CodeRef | None = None
    mcids: list[Mcid] = []
    gaps: str | None = None

    @model_validator(mode="after")
    def _range(self) -> Measure:
        if self.max_score <= self.min_score:
            raise ValueError(f"{self.id}: max_score must be above min_score")
        return self


# ------------------------------------------------------------------ engine policies


class Policy(Provenance):
    """A rule of an engine's own (how it treats missing or unclear input, session checks).

    The engines implement each policy by id; the data holds its wording and sources, so
    every decision they make can name the policy and cite it.
    """

    id: Annotated[str, StringConstraints(pattern=r"^policy\.[a-z0-9-]+$")]
    engine: Literal["screening", "triage", "coding", "scope"]
    title: Text
    explanation: Text
    #: the tier a triage policy gives when it applies (triage policies only)
    tier: Tier | None = None

    @model_validator(mode="after")
    def _tier_for_triage(self) -> Policy:
        if self.tier is not None and self.engine != "triage":
            raise ValueError(f"{self.id}: only triage policies have a tier")
        return self
