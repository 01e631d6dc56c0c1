"""Strict models for the clinical knowledge base.

Every item in ``knowledge/data/*.yaml`` is validated against these models when the
knowledge base loads. Unknown keys are rejected (``extra="forbid"``), ids follow a
stable dotted pattern (``contraindication.needle-fear``), every item names its
sources (resolved against ``sources.yaml``), carries a ``reviewed`` date and an
evidence tag that mirrors the tags of ``clinical-knowledge.md``:

* ``verified``   [V] read in a primary or authoritative source
* ``secondary``  [S] read only in a secondary source
* ``unverified`` [U] could not be confirmed; kept only to make the gap visible
* ``design``     [D] a design choice derived from the facts; needs clinical sign-off

All patient and clinician wording is a :class:`Text` with English and Spanish.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

LANGUAGES: tuple[str, ...] = ("en", "es")
Language = Literal["en", "es"]


class Strict(BaseModel):
    """Base for every knowledge model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


NonEmpty = Annotated[str, StringConstraints(min_length=1)]
SourceId = Annotated[str, StringConstraints(pattern=r"^source\.[a-z0-9][a-z0-9.-]*$")]
ContraindicationId = Annotated[str, StringConstraints(pattern=r"^contraindication\.[a-z0-9-]+$")]
SymptomId = Annotated[str, StringConstraints(pattern=r"^symptom\.[a-z0-9-]+$")]
RegionId = Annotated[str, StringConstraints(pattern=r"^region\.[a-z0-9-]+$")]


class Evidence(StrEnum):
    """Evidence tag, as in clinical-knowledge.md ([V], [S], [U], [D])."""

    verified = "verified"
    secondary = "secondary"
    unverified = "unverified"
    design = "design"


class Level(StrEnum):
    """How strongly a contraindication weighs. ``absolute`` gives ``not-eligible``."""

    absolute = "absolute"
    relative = "relative"
    precaution = "precaution"


class Tier(StrEnum):
    """After-treatment disposition tiers, lowest first."""

    self_care = "self-care"
    call_provider = "call-provider"
    emergency = "emergency"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]


_TIER_RANK = {Tier.self_care: 0, Tier.call_provider: 1, Tier.emergency: 2}


class Text(Strict):
    """Wording shown to people, in every supported language."""

    en: NonEmpty
    es: NonEmpty

    def get(self, language: str) -> str:
        """Text in ``language``; English when the language is not supported."""
        return self.es if language == "es" else self.en


class Terms(Strict):
    """Lay words and phrases, per language, that mean a concept in free text."""

    en: list[NonEmpty] = Field(min_length=1)
    es: list[NonEmpty] = Field(min_length=1)


class Provenance(Strict):
    """Sources, review date and evidence tag: required on every knowledge item."""

    sources: list[SourceId] = Field(min_length=1)
    reviewed: date
    evidence: Evidence


# ------------------------------------------------------------------ codes

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

#: Canonical code-system URI -> (short name, regular expression a code must match).
CODE_SYSTEMS: dict[str, tuple[str, re.Pattern[str]]] = {
    ICD10CM: ("ICD-10-CM", re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")),
    SNOMED: ("SNOMED CT", re.compile(r"^[1-9][0-9]{5,17}$")),
    LOINC: ("LOINC", re.compile(r"^[0-9]{1,7}-[0-9]$")),
    RXNORM: ("RxNorm", re.compile(r"^[0-9]{1,9}$")),
    ATC: ("ATC", re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")),
    CPT: ("CPT", re.compile(r"^[0-9]{4}[0-9A-Z]$")),
}


class Coding(Strict):
    """A code with its canonical system URI and a display."""

    system: NonEmpty
    code: NonEmpty
    display: NonEmpty

    @model_validator(mode="after")
    def _well_formed(self) -> Coding:
        known = CODE_SYSTEMS.get(self.system)
        if known is None:
            raise ValueError(f"unknown code system {self.system!r}; use a canonical URI")
        name, pattern = known
        if not pattern.match(self.code):
            raise ValueError(f"{self.code!r} is not a well-formed {name} code")
        return self


class CodeRef(Coding):
    """A code that reveals a rule in an EHR record.

    ``match: descendants`` also matches every more specific code below it
    (ICD-10-CM and ATC are hierarchical by prefix). ``verified`` is false when the
    code's meaning could not be confirmed in an authoritative source; such codes
    still fire (escalating is safe) but are shown as unverified.
    """

    match: Literal["exact", "descendants"] = "exact"
    verified: bool
    note: str | None = None

    @model_validator(mode="after")
    def _descendants_only_for_hierarchies(self) -> CodeRef:
        if self.match == "descendants" and self.system not in (ICD10CM, ATC):
            raise ValueError("match: descendants is only meaningful for ICD-10-CM and ATC")
        return self


ResourceType = Literal[
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "AllergyIntolerance",
    "Observation",
    "Procedure",
]


class ValueSetRef(Strict):
    """A published value set (e.g. from NLM VSAC) whose expansion reveals a rule.

    Expansions are not stored here: they load at run time from the value-set folder
    (setting ``NEEDLEWISE_VALUESETS_DIR``). ``include_prefixes`` narrows a broad
    (proxy) set to the codes that start with one of the prefixes; ``exclude_codes``
    drops known data errors in a published set (each explained in ``note``).
    """

    url: NonEmpty
    oid: str | None = None
    version: str | None = None
    title: NonEmpty
    resources: list[ResourceType] = Field(min_length=1)
    include_prefixes: list[NonEmpty] | None = None
    exclude_codes: list[NonEmpty] = []
    note: str | None = None


class Threshold(Strict):
    """A numeric cut-off with its own sources (only where a source gives one)."""

    comparator: Literal["<", "<=", ">", ">="]
    value: float
    unit: NonEmpty
    sources: list[SourceId] = Field(min_length=1)


class ObservationTrigger(Strict):
    """An Observation code that reveals a rule.

    ``fire_values``: coded answers that fire the rule; ``unclear_values``: answers
    that leave it unclear (the rule fires as *possible*, which escalates);
    ``clear_values``: answers that say the condition is absent.
    ``code_value_sets``: canonical URLs of value sets of further Observation codes
    (e.g. every LOINC code for a platelet count) that this trigger also applies to.
    ``fire_interpretations``: HL7 v3 ObservationInterpretation codes (the lab's own
    flag, e.g. ``H``/``HH``/``L``/``LL``) that fire the rule when no numeric
    threshold is known.
    """

    code: Coding
    code_value_sets: list[NonEmpty] = []
    fire_values: list[Coding] = []
    unclear_values: list[Coding] = []
    clear_values: list[Coding] = []
    fire_interpretations: list[Literal["H", "HH", "HU", "L", "LL", "LU", "A", "AA"]] = []
    threshold: Threshold | None = None
    note: str | None = None


class AgeRule(Strict):
    """Fires when the patient is younger than ``under_years`` on the screening date."""

    under_years: int = Field(gt=0, lt=30)
    verified: bool
    note: str


class Triggers(Strict):
    """Coded data that reveals a contraindication in an EHR record."""

    conditions: list[CodeRef] = []
    medications: list[CodeRef] = []
    medication_names: list[NonEmpty] = []
    allergies: list[CodeRef] = []
    procedures: list[CodeRef] = []
    observations: list[ObservationTrigger] = []
    value_sets: list[ValueSetRef] = []
    age: AgeRule | None = None


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
    terms: Terms
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


# ------------------------------------------------------------------ informed consent

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


class ConsentSection(Strict):
    """One part of the consent form: a heading and a short plain-language paragraph."""

    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]*$")]
    heading: Text
    body: Text


class PerWords(Strict):
    """The plural noun for each unit an incidence figure counts (``Incidence.per``)."""

    treatments: Text
    sessions: Text
    patients: Text
    respondents: Text


class FrequencyWording(Strict):
    """How a risk's published figure is put into plain words.

    Placeholders (filled by the consent service): ``{n}`` the "1 in n" number,
    ``{tenths}`` the "k in 10" number, ``{count}`` the number counted when nothing
    was seen, ``{per}`` the unit (:class:`PerWords`), ``{percent}`` the published
    figure, ``{source}`` the first author and year. Both languages must use the same
    placeholders.
    """

    label: Text
    rate: Text
    most: Text
    every: Text
    upper_bound: Text
    none_seen: Text
    none_seen_uncounted: Text
    survey: Text
    no_figure: Text
    per: PerWords

    @model_validator(mode="after")
    def _same_placeholders(self) -> FrequencyWording:
        allowed = {"n", "tenths", "count", "per", "percent", "source"}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if not isinstance(value, Text):
                continue
            en, es = _placeholders(value.en), _placeholders(value.es)
            if en != es:
                raise ValueError(f"frequency.{name}: en uses {sorted(en)}, es {sorted(es)}")
            if en - allowed:
                raise ValueError(f"frequency.{name}: unknown placeholder(s) {sorted(en - allowed)}")
        return self


class RiskCategories(Strict):
    """Sub-headings of the risk list, one per ``Risk.category``."""

    common: Text
    uncommon: Text
    rare: Text
    serious: Text


class SignerRoles(Strict):
    """How the person who signed is described on the patient's copy."""

    patient: Text
    guardian: Text
    representative: Text


class CopyLabels(Strict):
    """Labels of the signature block on the copy given to the patient."""

    heading: Text
    signed_by: Text
    typed_name: Text
    signed_on: Text
    interpreter: Text
    no_interpreter: Text
    text_version: Text
    fingerprint: Text
    withdrawn_on: Text
    reason: Text
    not_withdrawn: Text
    roles: SignerRoles


#: Sections every consent template must have (what it is, what happens, benefits not
#: guaranteed, alternatives, the right to stop and withdraw).
REQUIRED_CONSENT_SECTIONS: tuple[str, ...] = (
    "what-it-is",
    "what-will-happen",
    "benefits",
    "alternatives",
    "stopping",
)


class ConsentTemplate(Provenance):
    """The informed-consent form. The consent service renders it with every risk of the
    knowledge base and that risk's frequency in plain words; the rendered text, its
    version (``version`` + the knowledge version) and sha256 are what a patient signs."""

    id: Annotated[str, StringConstraints(pattern=r"^consent\.[a-z0-9-]+$")]
    version: Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)*$")]
    title: Text
    intro: Text
    sections_before_risks: list[ConsentSection] = Field(min_length=1)
    risks_heading: Text
    risks_intro: Text
    categories: RiskCategories
    frequency: FrequencyWording
    sections_after_risks: list[ConsentSection] = []
    agreement_heading: Text
    agreement: Text
    copy_labels: CopyLabels

    @model_validator(mode="after")
    def _required_sections(self) -> ConsentTemplate:
        keys = [s.key for s in self.sections_before_risks + self.sections_after_risks]
        if len(keys) != len(set(keys)):
            raise ValueError("section keys must be unique")
        missing = [k for k in REQUIRED_CONSENT_SECTIONS if k not in keys]
        if missing:
            raise ValueError(f"missing consent section(s): {', '.join(missing)}")
        return self


# ------------------------------------------------------------------ sources and meta


class Source(Strict):
    """A full citation. ``evidence`` is the tag of the copy the facts were read in."""

    id: SourceId
    citation: NonEmpty
    url: str | None = None
    evidence: Evidence
    note: str | None = None


class Meta(Strict):
    """Version of the knowledge base (the content hash is computed at load)."""

    version: Annotated[str, StringConstraints(pattern=r"^\d{4}\.\d{1,2}\.\d+$")]
    released: date
    languages: list[Language]
    canonical_base: NonEmpty
