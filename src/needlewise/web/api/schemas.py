"""Response models: they document the JSON the API returns (tests check real output
against them). Field names are the public contract of architecture.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from needlewise.languages import Language


class ValueSetStamp(BaseModel):
    loaded: int = Field(description="Value sets loaded from the value-set folder")
    sha256: str = Field(description="Hash of the value-set folder's files ('none' when absent)")


class KnowledgeStampOut(BaseModel):
    """The knowledge a decision used; store it with the decision."""

    version: str
    sha256: str
    value_sets: ValueSetStamp


class FindingOut(BaseModel):
    rule: str = Field(examples=["contraindication.anticoagulant"])
    level: Literal["absolute", "relative", "precaution"]
    title: str
    certainty: Literal["present", "possible"]
    evidence: list[str] = Field(
        description="The inputs that fired the rule (resource type/id and code, or answer)"
    )
    sources: list[str] = Field(description="Source ids; full citations are in `citations`")


class ScreeningOut(BaseModel):
    decision: Literal["eligible", "review", "not-eligible"]
    findings: list[FindingOut]
    unanswered: list[str] = Field(
        description="Required intake questions (rule ids) without an answer"
    )
    policies: list[str] = Field(
        description="Engine policies applied (how missing or unclear input was treated)"
    )
    knowledge: KnowledgeStampOut
    language: Language
    citations: dict[str, str]


class TextModifierOut(BaseModel):
    """A ConText modifier that changed what a mention means."""

    category: Literal[
        "negated", "uncertain", "resolved", "hypothetical", "again", "ongoing", "historical"
    ]
    rule: str = Field(
        description="Context rule id, or the 'no complaints' pattern that says it passed",
        examples=["context.en.no"],
    )
    trigger: str = Field(description="The patient's words that triggered it", examples=["no"])


class ReadAsOut(BaseModel):
    written: str = Field(description="A word as the patient wrote it", examples=["breth"])
    read_as: str = Field(description="The vocabulary word it was read as", examples=["breath"])


class TextMentionOut(BaseModel):
    """A concept found in the patient's own words."""

    concept: str = Field(description="Symptom id, or 'no-complaints'", examples=["symptom.cough"])
    pattern: str = Field(description="Lay-vocabulary pattern id", examples=["lay.en.cough.cough"])
    status: Literal["present", "uncertain", "negated", "resolved", "hypothetical"]
    quote: str = Field(description="The patient's words, as written")
    start: int = Field(description="Character offset of the quote in the message")
    end: int
    modifiers: list[TextModifierOut]
    read_as: list[ReadAsOut] = Field(description="Misspelled words and how they were read")


class TextTemperatureOut(BaseModel):
    value: float
    unit: Literal["Cel", "[degF]"] | None = Field(description="None when not plausible")
    unit_source: Literal["written", "inferred", "none"]
    plausible: bool
    quote: str


class StatedTimeOut(BaseModel):
    quote: str = Field(examples=["for four days"])
    rule: str = Field(examples=["time.en.count"])
    hours: list[float | None] = Field(
        description="[at least, less than] hours; null upper bound = no limit"
    )


class FreeTextOut(BaseModel):
    """What was read in the message (``text``), including denials, for the record."""

    language: Language = Field(description="The pipeline that read it")
    understood: bool
    unknown_words: int = Field(description="Words that matched nothing known")
    other_language: str | None = Field(description="A language we cannot read, if detected")
    mentions: list[TextMentionOut]
    temperatures: list[TextTemperatureOut]
    times: list[StatedTimeOut]


class ReasonOut(BaseModel):
    rule: str = Field(examples=["symptom.chest-pain"])
    tier: Literal["emergency", "call-provider", "self-care"]
    title: str
    matched: str = Field(description="The input this reason matched")
    free_text: list[TextMentionOut] = Field(
        description="The mentions in the patient's words this reason comes from (may be empty)"
    )


class PatientConditionOut(BaseModel):
    """A condition of the patient that triage weighed."""

    condition: str = Field(examples=["contraindication.joint-replacement"])
    where: str = Field(
        description="Where it came from: `given` (the request) or `screening <id>`",
        examples=["screening 12"],
    )
    certainty: Literal["present", "possible"] = Field(
        description='`possible` for a "not sure" intake answer (counted as present)'
    )


class TriageOut(BaseModel):
    disposition: Literal["emergency", "call-provider", "self-care"]
    reasons: list[ReasonOut]
    advice: str = Field(description="Plain-language instructions in `language`")
    language: Language
    knowledge: KnowledgeStampOut
    citations: dict[str, str]
    free_text: FreeTextOut | None = Field(
        description="What the free-text reader found in `text` (null when there is no text)"
    )
    conditions: list[PatientConditionOut] | None = Field(
        description=(
            "The patient's conditions triage weighed (null when the health history is not"
            " known: escalations that depend on it then add `policy.conditions-unknown`)"
        )
    )


class BillingLineOut(BaseModel):
    code: str
    system: str
    display: str
    title: str
    units: int
    muscle_count: int
    billing_id: str


class NoteOut(BaseModel):
    id: str
    title: str
    text: str
    sources: list[str]


class MuscleOut(BaseModel):
    muscle: str
    title: str
    laterality: str


class CodingOut(BaseModel):
    lines: list[BillingLineOut]
    muscles: list[MuscleOut]
    checks: list[NoteOut]
    needs_review: bool
    coverage: list[NoteOut]
    documentation: list[NoteOut]
    language: Language
    knowledge: KnowledgeStampOut
    citations: dict[str, str]


class ScopeOut(BaseModel):
    state: str
    state_name: str
    profession: Literal["pt", "acupuncturist", "physician"]
    profession_name: str
    status: Literal["allowed", "not-permitted", "silent", "unknown"]
    may_perform: bool | None = Field(
        description="true allowed, false not permitted, null check the board"
    )
    requirements: list[str]
    note: str | None
    as_of: str | None
    sources: list[str]
    evidence: str
    language: Language
    knowledge: KnowledgeStampOut
    citations: dict[str, str]


class ValueSetSummary(BaseModel):
    loaded: int
    sha256: str
    named: int
    problems: int


class KnowledgeOut(BaseModel):
    version: str
    sha256: str
    released: str
    languages: list[str]
    counts: dict[str, int]
    value_sets: ValueSetSummary


class HealthOut(BaseModel):
    status: Literal["ok"]
    knowledge: str


class ReadyOut(BaseModel):
    status: Literal["ready"]
    knowledge: str = Field(description="The knowledge base version")
    schema_revision: str = Field(
        alias="schema", description="The database's migration (the newest this version knows)"
    )
