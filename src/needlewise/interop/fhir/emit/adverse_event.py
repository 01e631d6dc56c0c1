"""AdverseEvent: an adverse event recorded after (or without) a session.

``event`` is the knowledge base's risk (our code ``{canonical}/CodeSystem/risk``, its
title as text); seriousness, severity and outcome use FHIR's own code systems
(severity as stored; our outcome names mapped to AdverseEventOutcome's: resolving → recovering,
not-resolved → ongoing, resolved-with-sequelae → resolvedWithSequelae). The session it followed is the ``suspectEntity``. R4's
AdverseEvent has no note: the free-text description stays in our record.
"""

from __future__ import annotations

from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import (
    JsonObject,
    coding,
    instant,
    meta,
    our_system,
    patient_ref,
)
from needlewise.interop.fhir.emit.procedure import procedure_id
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Risk
from needlewise.persistence.models import AdverseEvent

SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
#: our stored outcome -> FHIR R4 AdverseEventOutcome (a required binding; our names differ)
OUTCOMES = {
    "resolved": "resolved",
    "resolving": "recovering",
    "not-resolved": "ongoing",
    "resolved-with-sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}


def adverse_event_resource(kb: KnowledgeBase, row: AdverseEvent) -> JsonObject:
    risk = kb.get(row.event_type)
    title = risk.title.en if isinstance(risk, Risk) else row.event_type
    resource: JsonObject = {
        "resourceType": "AdverseEvent",
        "id": ids.of(ids.ADVERSE_EVENT, row.id),
        "meta": meta(row.updated_at),
        "actuality": "actual",
        "event": {"coding": [coding(our_system(kb, "risk"), row.event_type, title)], "text": title},
        "subject": patient_ref(row.patient_id),
        "date": instant(row.onset_at),
        "recordedDate": instant(row.created_at),
        "seriousness": {
            "coding": [
                coding(SERIOUSNESS, "serious", "Serious")
                if row.serious
                else coding(SERIOUSNESS, "non-serious", "Non-serious")
            ]
        },
        "severity": {"coding": [coding(SEVERITY, row.severity)]},
        "outcome": {"coding": [coding(OUTCOME, OUTCOMES.get(row.outcome, "unknown"))]},
    }
    if row.session_id is not None:
        resource["suspectEntity"] = [
            {"instance": {"reference": f"Procedure/{procedure_id(row.session_id)}"}}
        ]
    return resource
