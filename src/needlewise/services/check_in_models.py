"""What the check-in use cases answer: the stored check-in (staff) and what the patient
is told (:mod:`needlewise.services.check_ins`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from needlewise.languages import Language

Disposition = Literal["emergency", "call-provider", "self-care"]
Received = Literal["stored", "repeat", "not-stored"]


class CheckInOut(BaseModel):
    """A stored check-in as staff see it."""

    id: int
    patient_id: int
    session_id: int | None
    disposition: Disposition
    result: dict[str, Any] = Field(
        description="The triage result (as /api/triage) plus hours_since_treatment and hours_source"
    )
    answers: dict[str, Any] = Field(description="What was sent, unchanged")
    created_by: str = Field(description="user:ID (staff) or link:ID (the patient)")
    created_at: datetime
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    version: int
    repeat_count: int = Field(
        default=0,
        description="Identical submissions from the same link counted on this one, not stored",
    )
    refused_count: int = Field(
        default=0,
        description="Submissions of this patient the rate limit refused while the clinic had this one",
    )
    last_seen_at: datetime | None = Field(
        default=None, description="When the last repeat or refused submission arrived"
    )
    flagged: bool = Field(
        default=False,
        description="Repeated, refused submissions counted on it, or stored over the rate limit: "
        "a possible flood through a leaked link (look at the counts)",
    )


class PatientReasonOut(BaseModel):
    rule: str
    tier: Disposition
    title: str
    matched: str


class PatientCheckInOut(BaseModel):
    """What the patient is told after a check-in, in their language: always the triage of
    what they just sent, whether it was stored, counted as a repeat, or not stored."""

    id: int = Field(description="The check-in the clinic has (this one, or the one it repeats)")
    disposition: Disposition
    title: str = Field(description="What to do, in a few words (e.g. 'Call 911 now')")
    call_911: bool = Field(description="True when the patient must call 911 now")
    advice: str = Field(description="What to do, including when to call 911")
    reasons: list[PatientReasonOut]
    language: Language
    clinic_phones: list[str] = Field(description="The clinic's phone numbers")
    received: Received = Field(
        default="stored",
        description="stored: a new check-in; repeat: the clinic already has the same answers; "
        "not-stored: too many check-ins in a short time, the clinic already has recent ones",
    )
    notice: str | None = Field(
        default=None, description="For a repeat or not-stored: that the clinic already has it"
    )
    clinic_alerted: bool = Field(
        default=False,
        description="True for emergency and call-provider: the clinic was alerted too "
        "(services/escalation.py). The patient still acts first: call 911, or call the clinic",
    )
    clinic_notice: str | None = Field(
        default=None,
        description="When clinic_alerted: that the clinic was told, and that this never "
        "replaces what the patient must do themselves (calling 911 comes first)",
    )
