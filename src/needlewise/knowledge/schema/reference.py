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
    RegionId,
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


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
MeasureId = Annotated[str, StringConstraints(pattern=r"^measure\.[a-z0-9-]+$")]


class ScoringSection(Strict):
    """One section of a fixed questionnaire (NDI, ODI), by a short name of our own.

    Never the instrument's question or answer text (copyrighted): the clinician enters
    each section's score from the clinic's own licensed form.
    """

    key: Slug
    title: Text


class ScoringMethod(Strict):
    """How a measure's score is computed from the item scores entered.

    * ``single``: one item; the score is the item (NPRS).
    * ``mean``: ``min_items``..``max_items`` items (PSFS: activities the patient names);
      the score is their mean.
    * ``sum``: every section answered; the score is their sum (NDI, 0-50). With
      ``percent_factor`` the sum is also reported as a percent (NDI: x2).
    * ``percent-of-answered``: at least ``min_items`` sections answered; the score is
      sum / (``item_max`` x answered) x 100 (ODI: a section may be skipped).
    """

    kind: Literal["single", "mean", "sum", "percent-of-answered"]
    item_min: int = Field(ge=0)
    item_max: int = Field(ge=1)
    min_items: int = Field(ge=1)
    max_items: int = Field(ge=1)
    #: the fixed sections in order (NDI, ODI); empty for one item or patient-named items
    sections: list[ScoringSection] = []
    #: the patient names each item (PSFS activities); the names are stored with the score
    patient_named: bool = False
    percent_factor: float | None = Field(default=None, gt=0)
    sources: list[SourceId] = Field(min_length=1)
    evidence: Evidence
    gaps: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ScoringMethod:
        if self.item_max <= self.item_min:
            raise ValueError("item_max must be above item_min")
        if self.min_items > self.max_items:
            raise ValueError("min_items must not be above max_items")
        if self.kind == "single" and self.max_items != 1:
            raise ValueError("a single-item method has exactly one item")
        if self.sections and len(self.sections) != self.max_items:
            raise ValueError("sections must list every item (max_items of them)")
        if self.kind in ("sum", "percent-of-answered") and not self.sections:
            raise ValueError(f"a {self.kind} method names its sections")
        if self.kind == "sum" and self.min_items != self.max_items:
            raise ValueError("a sum needs every section answered (min_items = max_items)")
        keys = [s.key for s in self.sections]
        if len(keys) != len(set(keys)):
            raise ValueError("section keys must be unique")
        return self


class Measure(Provenance):
    """An outcome measure with its range and MCIDs (and, when needlewise scores it, the
    scoring ``method``)."""

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
    method: ScoringMethod | None = None

    @model_validator(mode="after")
    def _range(self) -> Measure:
        if self.max_score <= self.min_score:
            raise ValueError(f"{self.id}: max_score must be above min_score")
        method = self.method
        if method is None:
            return self
        if method.kind in ("single", "mean"):
            expected: tuple[float, float] = (method.item_min, method.item_max)
        elif method.kind == "sum":
            expected = (method.item_min * method.max_items, method.item_max * method.max_items)
        else:
            expected = (0, 100)
        if (self.min_score, self.max_score) != expected:
            raise ValueError(f"{self.id}: the method gives scores {expected}, not the range")
        return self


class RegionMeasure(Strict):
    """The function measure of one region."""

    region: RegionId
    measure: MeasureId


class FunctionMeasureChoice(Provenance):
    """Which function questionnaire a needled region calls for: ``by_region``, and
    ``fallback`` for every other region. A design choice (each measure's own population),
    not a guideline."""

    id: Annotated[str, StringConstraints(pattern=r"^measure-choice\.[a-z0-9-]+$")]
    by_region: list[RegionMeasure] = Field(min_length=1)
    fallback: MeasureId
    explanation: Text

    @model_validator(mode="after")
    def _one_per_region(self) -> FunctionMeasureChoice:
        regions = [r.region for r in self.by_region]
        if len(regions) != len(set(regions)):
            raise ValueError(f"{self.id}: a region is listed twice")
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
