"""What health systems send and receive: identifiers and records imported from FHIR, the
cards our CDS Hooks services returned, the feedback on them, and the JWT ids already used.

* :class:`PatientIdentifier` — an EHR's identifier of one of our patients (``system`` and
  ``value``), unique within a clinic. Import finds a patient again by it, so loading the
  same file twice changes nothing.
* :class:`ClinicalRecord` — one Condition, MedicationStatement/MedicationRequest,
  Observation or AllergyIntolerance imported for a patient, kept as the FHIR JSON it came
  as. ``identity`` is what makes a second import of it the same record: its first
  identifier (``system|value``) or, without one, its resource id.
* :class:`CdsCard` — one card a CDS Hooks service answered with (its ``uuid``), with the
  rules behind it, so feedback can be tied to the rule that fired.
* :class:`CdsFeedback` — what the clinician did with a card: accepted or overridden, and
  the override reason.
* :class:`UsedJwtId` — a CDS client's JWT id (``jti``) seen before its token expired; a
  second call with it is refused as a replay. Rows are dropped once ``expires_at`` passes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from needlewise.persistence.db import utcnow
from needlewise.persistence.models.base import Base, UtcDateTime


class PatientIdentifier(Base):
    """An identifier another system gave one of our patients (FHIR ``Patient.identifier``)."""

    __tablename__ = "patient_identifiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint(
            "clinic_id", "system", "value", name="uq_patient_identifiers_clinic_system_value"
        ),
    )


class ClinicalRecord(Base):
    """One FHIR resource about a patient, imported from another system."""

    __tablename__ = "clinical_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    identity: Mapped[str] = mapped_column(String(600))
    resource: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint(
            "patient_id",
            "resource_type",
            "identity",
            name="uq_clinical_records_patient_type_identity",
        ),
    )


class CdsCard(Base):
    """A card one of our CDS Hooks services returned."""

    __tablename__ = "cds_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    service_id: Mapped[str] = mapped_column(String(80))
    hook: Mapped[str] = mapped_column(String(60))
    hook_instance: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(255))  # the JWT issuer, or "unsigned"
    indicator: Mapped[str] = mapped_column(String(10))  # info | warning | critical
    summary: Mapped[str] = mapped_column(String(140))
    rules: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CdsFeedback(Base):
    """What a clinician did with one card (CDS Hooks feedback)."""

    __tablename__ = "cds_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    card_uuid: Mapped[str] = mapped_column(String(36), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    service_id: Mapped[str] = mapped_column(String(80))
    client: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(20))  # accepted | overridden
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON)
    override_system: Mapped[str | None] = mapped_column(String(255), nullable=True)
    override_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    override_display: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UsedJwtId(Base):
    """A JWT id a CDS client already used, kept until its token expires."""

    __tablename__ = "used_jwt_ids"
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        UniqueConstraint("issuer", "jti", name="uq_used_jwt_ids_issuer_jti"),
        Index("ix_used_jwt_ids_expires_at", "expires_at"),
    )
