"""Patients and their clinical records: screenings, consents, treatment sessions,
adverse events, check-ins and patient links."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from needlewise.persistence.db import utcnow
from needlewise.persistence.models.base import Base, UtcDateTime


class Patient(Base):
    """A patient: demographics, preferred language and contact details."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str | None] = mapped_column(String(20), nullable=True)
    preferred_language: Mapped[str] = mapped_column(String(10), default="en")
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The patient asked for no more check-in messages (services/aftercare_schedule.py):
    # when, and who recorded it (``link:ID`` for the patient's own opt-out link).
    check_ins_opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    check_ins_opted_out_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it
    __table_args__ = (Index("ix_patients_family_given", "family_name", "given_name"),)


class Screening(Base):
    """A stored screening: inputs, result and the knowledge it used. Never changed."""

    __tablename__ = "screenings"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    decision: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    electrical_stimulation: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    knowledge_version: Mapped[str] = mapped_column(String(20))
    knowledge_sha256: Mapped[str] = mapped_column(String(64))
    value_sets_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(40))  # user:ID or link:ID
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (Index("ix_screenings_patient_created", "patient_id", "created_at"),)


class Consent(Base):
    """Informed consent: the exact text signed (listing risks with their frequencies),
    typed name and drawn signature, signer, interpreter, date, and any withdrawal."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    text_version: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    typed_name: Mapped[str] = mapped_column(String(200))
    signature_png: Mapped[bytes] = mapped_column(LargeBinary)
    signer_role: Mapped[str] = mapped_column(String(20))  # patient | guardian | representative
    signer_name: Mapped[str] = mapped_column(String(200))
    interpreter_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    interpreter_language: Mapped[str | None] = mapped_column(String(40), nullable=True)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it
    __table_args__ = (Index("ix_consents_patient_signed", "patient_id", "signed_at"),)


class TreatmentSession(Base):
    """One dry-needling session. ``cpt_code`` is derived from the muscles, never typed."""

    __tablename__ = "treatment_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
    performed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    technique: Mapped[str | None] = mapped_column(String(200), nullable=True)
    electrical_stimulation: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[str | None] = mapped_column(Text, nullable=True)
    in_session_events: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    pain_before: Mapped[int | None] = mapped_column(Integer, nullable=True)  # NPRS 0-10
    pain_after: Mapped[int | None] = mapped_column(Integer, nullable=True)  # NPRS 0-10
    cpt_code: Mapped[str] = mapped_column(String(10))
    cpt_units: Mapped[int] = mapped_column(Integer)
    muscle_count: Mapped[int] = mapped_column(Integer)
    coding: Mapped[dict[str, Any]] = mapped_column(JSON)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    scope_status: Mapped[str] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    override_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    knowledge_version: Mapped[str] = mapped_column(String(20))
    knowledge_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    muscles: Mapped[list[SessionMuscle]] = relationship(
        back_populates="session", order_by="SessionMuscle.position", cascade="all, delete-orphan"
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it
    __table_args__ = (
        Index("ix_treatment_sessions_patient_performed", "patient_id", "performed_at"),
    )


class SessionMuscle(Base):
    """One muscle needled in a session, with laterality and needle details."""

    __tablename__ = "session_muscles"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    muscle: Mapped[str] = mapped_column(String(60))
    laterality: Mapped[str] = mapped_column(String(10))
    needle_count: Mapped[int] = mapped_column(Integer)
    gauge: Mapped[str | None] = mapped_column(String(20), nullable=True)
    length_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    session: Mapped[TreatmentSession] = relationship(back_populates="muscles")


class AdverseEvent(Base):
    """An adverse event: type from the knowledge base's risks, severity, seriousness,
    outcome and dates (FHIR AdverseEvent in shape)."""

    __tablename__ = "adverse_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id"), nullable=True, index=True
    )
    event_type: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10))  # mild | moderate | severe
    serious: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(30))
    onset_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it
    __table_args__ = (Index("ix_adverse_events_patient_onset", "patient_id", "onset_at"),)


class CheckIn(Base):
    """An after-treatment check-in: answers, triage result, and who acknowledged it."""

    __tablename__ = "check_ins"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id"), nullable=True, index=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    disposition: Mapped[str] = mapped_column(String(20))
    knowledge_version: Mapped[str] = mapped_column(String(20))
    knowledge_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Floods through a patient link (services/check_in_flood.py): the digest of the
    # answers finds an identical repeat, which is counted here instead of stored again,
    # as is a submission the rate limit refused; either flags the check-in.
    answers_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refused_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Escalation (services/escalation.py): when the clinic is next alerted again about this
    # check-in if nobody has acknowledged it; null once acknowledged or never alerted.
    next_alert_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it
    __table_args__ = (
        Index("ix_check_ins_patient_created", "patient_id", "created_at"),
        Index("ix_check_ins_disposition_ack", "disposition", "acknowledged_at"),
    )


class PatientLink(Base):
    """A signed, expiring, single-purpose link a patient uses instead of a password."""

    __tablename__ = "patient_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # intake | consent | check-in
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
