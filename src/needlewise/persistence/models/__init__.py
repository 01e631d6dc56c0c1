"""SQLAlchemy tables. Importing this package registers every table on ``Base.metadata``."""

from needlewise.persistence.models.accounts import AuthSession, Clinic, LoginAttempt, Provider, User
from needlewise.persistence.models.aftercare import OutboundMessage, OutcomeScore
from needlewise.persistence.models.audit import AuditEntry
from needlewise.persistence.models.base import Base
from needlewise.persistence.models.clinical import (
    AdverseEvent,
    CheckIn,
    Consent,
    Patient,
    PatientLink,
    Screening,
    SessionMuscle,
    TreatmentSession,
)
from needlewise.persistence.models.idempotency import IdempotencyKey
from needlewise.persistence.models.interop import (
    CdsCard,
    CdsFeedback,
    ClinicalRecord,
    PatientIdentifier,
    UsedJwtId,
)

__all__ = [
    "AdverseEvent",
    "AuditEntry",
    "AuthSession",
    "Base",
    "CdsCard",
    "CdsFeedback",
    "CheckIn",
    "Clinic",
    "ClinicalRecord",
    "Consent",
    "IdempotencyKey",
    "LoginAttempt",
    "OutboundMessage",
    "OutcomeScore",
    "Patient",
    "PatientIdentifier",
    "PatientLink",
    "Provider",
    "Screening",
    "SessionMuscle",
    "TreatmentSession",
    "UsedJwtId",
    "User",
]
