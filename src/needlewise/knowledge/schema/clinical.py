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


class AskedIf(Strict):
    """A follow-up question, asked only when an earlier rule got one of ``answers``
    (FHIR ``enableWhen``). It is required only then; any answer given counts."""

    rule: ContraindicationId
    answers: list[Literal["yes", "unsure"]] = Field(min_length=1)


class Contraindication(Provenance):
    """A contraindication or precaution, with its intake question and EHR triggers.

    ``ask_again_at_visit``: the answer can change between the intake form and the visit
    (an acute illness), so the clinician asks it again on the day of treatment.
    """

    id: ContraindicationId
    title: Text
    level: Level
    level_rationale: Text
    question: Text
    help: Text | None = None
    fires_on: Literal["yes", "no"] = "yes"
    required: bool = True
    asked_if: AskedIf | None = None
    ask_again_at_visit: bool = False
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
    """One published frequency figure for a risk.

    ``per`` is what was counted (treatments, sessions, patients, or providers asked);
    ``population`` in whom (dry needling or acupuncture). The consent shows one figure
    per risk: the one marked ``consent: true``, else the first per-visit figure (see
    ``services/consent_text.py``). ``counts`` says what the figure counts when that is
    narrower or wider than the risk as a patient feels it (only significant panic; bleeding
    and haematoma together); ``caveat`` says why the true risk may differ. Both are shown
    next to the figure. A percent with a numerator and denominator must equal their
    ratio rounded to the percent's own decimals.
    """

    source: SourceId
    value: float = Field(ge=0)
    unit: Literal["percent"]
    per: Literal["treatments", "sessions", "patients", "respondents"]
    population: Literal["dry-needling", "acupuncture"]
    numerator: int | None = Field(default=None, ge=0)
    denominator: int | None = Field(default=None, gt=0)
    upper_bound: bool = False
    consent: bool = False
    counts: Text | None = None
    caveat: Text | None = None
    evidence: Evidence
    note: str | None = None

    @model_validator(mode="after")
    def _percent_matches_counts(self) -> Incidence:
        if self.numerator is None or self.denominator is None or self.upper_bound:
            return self
        written = f"{self.value:.6f}".rstrip("0").rstrip(".")
        decimals = len(written.split(".")[1]) if "." in written else 0
        computed = round(100 * self.numerator / self.denominator, decimals)
        if abs(computed - self.value) > 10 ** -(decimals + 3):
            raise ValueError(
                f"{self.value}% does not match {self.numerator}/{self.denominator}"
                f" (= {100 * self.numerator / self.denominator:.6f}%, {computed} at"
                f" {decimals} decimal(s))"
            )
        return self


class Risk(Provenance):
    """A risk disclosed at consent, with its published incidence figures."""

    id: Annotated[str, StringConstraints(pattern=r"^risk\.[a-z0-9-]+$")]
    title: Text
    description: Text
    category: Literal["common", "uncommon", "rare", "serious"]
    incidence: list[Incidence] = []
    gaps: str | None = None

    @model_validator(mode="after")
    def _one_consent_figure(self) -> Risk:
        if sum(1 for figure in self.incidence if figure.consent) > 1:
            raise ValueError("at most one incidence figure may be marked consent: true")
        return self


# ------------------------------------------------------------------ aftercare


class Temperature(Strict):
    """A measured-temperature rule. Both cut-offs are inclusive when ``inclusive``."""

    min_celsius: float
    min_fahrenheit: float
    inclusive: bool = True


class Symptom(Provenance):
    """An after-treatment symptom and the tier it puts the patient in.

    ``unmeasured_fever``: a fever felt but not measured (chills, feeling feverish). In an
    escalation it stands in for a fever only while no temperature is known: a measured
    temperature below the fever cut-off (and none at or above it) means it does not
    count as one. The symptom keeps its own tier either way.
    """

    id: SymptomId
    tier: Tier
    title: Text
    question: Text
    advice: Text | None = None
    temperature: Temperature | None = None
    unmeasured_fever: bool = False


class EscalationWhen(Strict):
    """Conditions of an escalation. Every given condition must hold.

    * ``symptoms_any`` / ``and_any``: at least one symptom of each list is present;
      ``symptoms_all``: every one of them is present;
    * ``regions_any``: a treated region is one of these; ``near_lung_regions``: a treated
      region is near the lung, or its nearness is not confirmed (``near_lung: unknown``);
    * ``hours_at_most`` / ``hours_more_than``: time since treatment;
    * ``conditions_any``: the patient has one of these conditions, read from the
      latest screening (a finding of that contraindication, present or possible) or
      given explicitly to ``triage``.

    Missing input never blocks an escalation on symptoms' context: unknown treated
    regions count as matching, and unknown time counts as inside any time window.
    Unknown patient conditions are the one exception, because counting them as present
    would send every fever to 911: the escalation does not fire, and triage adds
    ``policy.conditions-unknown``, whose advice tells the patient what to do if they
    have one of the conditions (never lower than the symptoms' own tier).
    """

    symptoms_any: list[SymptomId] = []
    symptoms_all: list[SymptomId] = []
    and_any: list[SymptomId] = []
    regions_any: list[RegionId] = []
    near_lung_regions: bool = False
    conditions_any: list[ContraindicationId] = []
    hours_at_most: float | None = Field(default=None, gt=0)
    hours_more_than: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _has_symptom_condition(self) -> EscalationWhen:
        if not self.symptoms_any and not self.symptoms_all:
            raise ValueError("an escalation needs symptoms_any or symptoms_all")
        if self.and_any and not self.symptoms_any:
            raise ValueError("and_any is a second list next to symptoms_any; give both")
        if self.regions_any and self.near_lung_regions:
            raise ValueError("give regions_any or near_lung_regions, not both")
        return self


class Escalation(Provenance):
    """A combination of findings that raises the tier (a sourced 'triage tuple')."""

    id: Annotated[str, StringConstraints(pattern=r"^escalation\.[a-z0-9-]+$")]
    title: Text
    tier: Tier
    when: EscalationWhen
    explanation: Text
    if_conditions_unknown: Text | None = None
    tier_note: str | None = None
    gaps: str | None = None

    @model_validator(mode="after")
    def _says_what_to_do_without_history(self) -> Escalation:
        if self.when.conditions_any and self.if_conditions_unknown is None:
            raise ValueError(
                "an escalation with conditions_any needs if_conditions_unknown: what the "
                "patient is told when their health history is not known"
            )
        return self


class Disposition(Provenance):
    """Plain-language instructions for one tier."""

    id: Annotated[str, StringConstraints(pattern=r"^disposition\.[a-z0-9-]+$")]
    tier: Tier
    title: Text
    advice: Text


#: ``near_lung``: true where the notes place pneumothorax risk, false where they rule it
#: out by anatomy, ``unknown`` where they are silent (a visible gap for clinical sign-off;
#: the engines treat it as near the lung, which escalates)
NearLung = bool | Literal["unknown"]


class _LungFlag(Provenance):
    near_lung: NearLung = False
    near_lung_note: str | None = None

    @property
    def lung_risk(self) -> bool:
        """True when near the lung or not confirmed either way (the safe reading)."""
        return self.near_lung is not False

    @model_validator(mode="after")
    def _unknown_says_why(self) -> _LungFlag:
        if self.near_lung == "unknown" and not self.near_lung_note:
            raise ValueError("near_lung: unknown needs a near_lung_note saying what is missing")
        return self


class Region(_LungFlag):
    """A body region that may be treated. ``near_lung`` marks pneumothorax-risk regions."""

    id: RegionId
    title: Text


class Muscle(_LungFlag):
    """A muscle that may be needled (payers ask for each muscle by name)."""

    id: Annotated[str, StringConstraints(pattern=r"^muscle\.[a-z0-9-]+$")]
    title: Text
    region: RegionId
    compressible: bool = True
