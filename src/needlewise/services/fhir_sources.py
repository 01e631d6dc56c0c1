"""Where each FHIR resource type of the facade comes from: the stored rows (a *source*),
the permission the JSON API asks to read them, and the kind its audit entries name.

A type may have several sources (a QuestionnaireResponse is a screening's intake answers
or a check-in's aftercare answers) and a row may give several resources (a screening
gives one DetectedIssue per finding). The permissions mirror the JSON API's
(:mod:`needlewise.security.roles`): front desk reads patients, screenings, consents and
check-ins, but not sessions or adverse events — so not Procedures, pain scores or
AdverseEvents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from needlewise.interop.fhir.emit import consent, ids, observation
from needlewise.interop.fhir.emit.adverse_event import adverse_event_resource
from needlewise.interop.fhir.emit.common import JsonObject
from needlewise.interop.fhir.emit.communication import check_in_communications
from needlewise.interop.fhir.emit.detected_issue import screening_issues
from needlewise.interop.fhir.emit.outcome_observation import outcome_observation
from needlewise.interop.fhir.emit.patient import patient_resource
from needlewise.interop.fhir.emit.procedure import procedure_resource
from needlewise.interop.fhir.emit.questionnaire_response import (
    check_in_response,
    screening_response,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import (
    AdverseEvent,
    CheckIn,
    Consent,
    OutcomeScore,
    Patient,
    PatientIdentifier,
    Provider,
    Screening,
    TreatmentSession,
)
from needlewise.services.fhir_search import SearchQuery


@dataclass(frozen=True)
class Context:
    """What emitting needs besides the rows: the knowledge base, this server's base URL,
    and what the rows' extras were looked up to (identifiers, provider names)."""

    kb: KnowledgeBase
    base_url: str
    extras: dict[int, Any]


@dataclass(frozen=True)
class Source:
    """One kind of stored row behind a FHIR type."""

    prefix: str  # our id prefix (ids.SESSION …)
    permission: str
    audit_kind: str  # the JSON API's audit resource type
    model: Any
    patient_column: Any
    date_column: Any | None
    emit: Callable[[Context, Any], list[JsonObject]]
    options: tuple[Any, ...] = ()
    extras: Callable[[Session, Sequence[Any]], dict[int, Any]] | None = None

    def rows(
        self, tx: Session, clinic_id: int, query: SearchQuery, row_id: int | None
    ) -> list[Any]:
        """This source's rows in the clinic that match ``query`` (and ``row_id``), by id."""
        statement: Select[Any] = select(self.model)
        if self.model is not Patient:
            statement = statement.join(Patient, Patient.id == self.patient_column)
        statement = statement.where(Patient.clinic_id == clinic_id)
        if query.patient_row is not None:
            statement = statement.where(self.patient_column == query.patient_row)
        if row_id is not None:
            statement = statement.where(self.model.id == row_id)
        if query.identifier is not None and self.model is Patient:
            system, value = query.identifier
            given = select(PatientIdentifier.patient_id).where(PatientIdentifier.value == value)
            if system is not None:
                given = given.where(PatientIdentifier.system == system)
            statement = statement.where(Patient.id.in_(given))
        if self.date_column is not None:
            for bound in query.dates:
                statement = statement.where(bound.condition(self.date_column))
        statement = statement.options(*self.options).order_by(self.model.id)
        return list(tx.scalars(statement))

    def context_for(
        self, tx: Session, kb: KnowledgeBase, base_url: str, rows: list[Any]
    ) -> Context:
        return Context(kb, base_url, self.extras(tx, rows) if self.extras and rows else {})


def _identifiers(tx: Session, rows: Sequence[Any]) -> dict[int, Any]:
    found: dict[int, list[PatientIdentifier]] = {}
    statement = (
        select(PatientIdentifier)
        .where(PatientIdentifier.patient_id.in_([row.id for row in rows]))
        .order_by(PatientIdentifier.id)
    )
    for identifier in tx.scalars(statement):
        found.setdefault(identifier.patient_id, []).append(identifier)
    return dict(found)


def _providers(tx: Session, rows: Sequence[Any]) -> dict[int, Any]:
    wanted = {row.provider_id for row in rows}
    statement = select(Provider.id, Provider.name).where(Provider.id.in_(wanted))
    return {row.id: row.name for row in tx.execute(statement)}


def _one(resource: JsonObject | None) -> list[JsonObject]:
    return [resource] if resource is not None else []


PATIENTS = Source(
    ids.PATIENT, "patients:read", "patient", Patient, Patient.id, None,
    lambda c, row: [patient_resource(c.kb, row, c.extras.get(row.id, ()))],
    extras=_identifiers,
)  # fmt: skip
INTAKE_ANSWERS = Source(
    ids.SCREENING, "screenings:read", "screening", Screening, Screening.patient_id,
    Screening.created_at, lambda _c, row: _one(screening_response(row)),
)  # fmt: skip
FINDINGS = Source(
    ids.SCREENING, "screenings:read", "screening", Screening, Screening.patient_id,
    Screening.created_at, lambda c, row: screening_issues(c.kb, row),
)  # fmt: skip
AFTERCARE_ANSWERS = Source(
    ids.CHECK_IN, "check-ins:read", "check-in", CheckIn, CheckIn.patient_id,
    CheckIn.created_at, lambda c, row: [check_in_response(c.kb, row)],
)  # fmt: skip
CHECK_IN_MESSAGES = Source(
    ids.CHECK_IN, "check-ins:read", "check-in", CheckIn, CheckIn.patient_id,
    CheckIn.created_at, lambda c, row: check_in_communications(c.kb, row),
)  # fmt: skip
TEMPERATURES = Source(
    ids.CHECK_IN, "check-ins:read", "check-in", CheckIn, CheckIn.patient_id,
    CheckIn.created_at, lambda _c, row: observation.check_in_observations(row),
)  # fmt: skip
CONSENTS = Source(
    ids.CONSENT, "consents:read", "consent", Consent, Consent.patient_id, Consent.signed_at,
    lambda c, row: [
        consent.consent_resource(c.kb, row, f"{c.base_url}/app/consents/{row.id}.pdf")
    ],
)  # fmt: skip
SIGNATURES = Source(
    ids.CONSENT, "consents:read", "consent", Consent, Consent.patient_id, Consent.signed_at,
    lambda _c, row: [consent.signature_provenance(row)],
)  # fmt: skip
_MUSCLES = (selectinload(TreatmentSession.muscles),)
PROCEDURES = Source(
    ids.SESSION, "sessions:read", "session", TreatmentSession, TreatmentSession.patient_id,
    TreatmentSession.performed_at,
    lambda c, row: [procedure_resource(c.kb, row, c.extras.get(row.provider_id))],
    options=_MUSCLES, extras=_providers,
)  # fmt: skip
PAIN_SCORES = Source(
    ids.SESSION, "sessions:read", "session", TreatmentSession, TreatmentSession.patient_id,
    TreatmentSession.performed_at, lambda c, row: observation.session_observations(c.kb, row),
)  # fmt: skip
OUTCOME_SCORES = Source(
    ids.OUTCOME, "sessions:read", "outcome-score", OutcomeScore, OutcomeScore.patient_id,
    OutcomeScore.recorded_at, lambda c, row: [outcome_observation(c.kb, row)],
)  # fmt: skip
ADVERSE_EVENTS = Source(
    ids.ADVERSE_EVENT, "adverse-events:read", "adverse-event", AdverseEvent,
    AdverseEvent.patient_id, AdverseEvent.onset_at,
    lambda c, row: [adverse_event_resource(c.kb, row)],
)  # fmt: skip


@dataclass(frozen=True)
class FhirType:
    """A resource type the facade serves, its sources and its search parameters."""

    name: str
    sources: tuple[Source, ...]
    #: the type's date search parameter (FHIR names it per type), ``None``: none
    date_param: str | None
    patient_param: bool = True
    identifier_param: bool = False


#: every resource type read from stored rows (Questionnaire comes from the knowledge base)
TYPES: dict[str, FhirType] = {
    t.name: t
    for t in (
        FhirType("Patient", (PATIENTS,), None, patient_param=False, identifier_param=True),
        FhirType("QuestionnaireResponse", (INTAKE_ANSWERS, AFTERCARE_ANSWERS), "authored"),
        FhirType("Consent", (CONSENTS,), "date"),
        FhirType("Provenance", (SIGNATURES,), None),
        FhirType("Procedure", (PROCEDURES,), "date"),
        FhirType("AdverseEvent", (ADVERSE_EVENTS,), "date"),
        FhirType("Observation", (PAIN_SCORES, TEMPERATURES, OUTCOME_SCORES), "date"),
        FhirType("DetectedIssue", (FINDINGS,), "identified"),
        FhirType("Communication", (CHECK_IN_MESSAGES,), "sent"),
    )
}
