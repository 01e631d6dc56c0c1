"""Base models, text, evidence tags, ids and codes shared by every knowledge file."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from needlewise.languages import LANGUAGES


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
        found = getattr(self, language, None) if language in LANGUAGES else None
        return found if isinstance(found, str) else self.en


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
