"""Response models: they document the JSON the API returns (tests check real output
against them). Field names are the public contract of architecture.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
    language: Literal["en", "es"]
    citations: dict[str, str]


class ReasonOut(BaseModel):
    rule: str = Field(examples=["symptom.chest-pain"])
    tier: Literal["emergency", "call-provider", "self-care"]
    title: str
    matched: str = Field(description="The input this reason matched")


class TriageOut(BaseModel):
    disposition: Literal["emergency", "call-provider", "self-care"]
    reasons: list[ReasonOut]
    advice: str = Field(description="Plain-language instructions in `language`")
    language: Literal["en", "es"]
    knowledge: KnowledgeStampOut
    citations: dict[str, str]


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
    language: Literal["en", "es"]
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
    language: Literal["en", "es"]
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
