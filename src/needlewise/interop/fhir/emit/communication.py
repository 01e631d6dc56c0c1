"""Communication: each check-in (the patient's message to the clinic), and the advice we
sent back (the education the triage gave, in the patient's language).

``priority`` follows the triage disposition (emergency → ``stat``, call-provider →
``urgent``, self-care → ``routine``; anything else escalates to ``stat``). The patient is
the sender of the check-in; the payload holds the disposition and a reference to the
answers (QuestionnaireResponse ``check-in-N``). The advice is a second Communication
(``check-in-N-advice``, category ``instruction``) to the patient, ``inResponseTo`` the
check-in. No other education sending is recorded by needlewise, so none is emitted.
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
from needlewise.persistence.models import CheckIn

CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"
PRIORITY = {"emergency": "stat", "call-provider": "urgent", "self-care": "routine"}


def priority_of(disposition: str) -> str:
    """The Communication priority of a triage disposition (unknown: ``stat``)."""
    return PRIORITY.get(disposition, "stat")


def check_in_communications(kb: KnowledgeBase, row: CheckIn) -> list[JsonObject]:
    """The check-in, and the advice sent back when the triage gave any."""
    check_in_id = ids.of(ids.CHECK_IN, row.id)
    reasons = [
        coding(our_system(kb, "rule"), str(reason["rule"]), str(reason.get("title") or ""))
        for reason in row.result.get("reasons") or []
        if isinstance(reason, dict) and isinstance(reason.get("rule"), str)
    ]
    message: JsonObject = {
        "resourceType": "Communication",
        "id": check_in_id,
        "meta": meta(row.created_at),
        "status": "completed",
        "category": [
            {
                "coding": [coding(our_system(kb, "communication"), "check-in", "Check-in")],
                "text": "After-treatment check-in",
            }
        ],
        "priority": priority_of(row.disposition),
        "subject": patient_ref(row.patient_id),
        "sent": instant(row.created_at),
        "sender": patient_ref(row.patient_id),
        "payload": [
            {"contentString": f"Triage disposition: {row.disposition}"},
            {"contentReference": {"reference": f"QuestionnaireResponse/{check_in_id}"}},
        ],
    }
    if reasons:
        message["reasonCode"] = [{"coding": [reason]} for reason in reasons]
    if row.session_id is not None:
        message["about"] = [{"reference": f"Procedure/{procedure_id(row.session_id)}"}]
    if row.acknowledged_at is not None:
        message["received"] = instant(row.acknowledged_at)
    found = [message]
    advice = row.result.get("advice")
    if isinstance(advice, str) and advice.strip():
        reply: JsonObject = {
            "resourceType": "Communication",
            "id": ids.of(ids.CHECK_IN, row.id, "advice"),
            "meta": meta(row.created_at),
            "language": str(row.result.get("language") or "en"),
            "inResponseTo": [{"reference": f"Communication/{check_in_id}"}],
            "status": "completed",
            "category": [{"coding": [coding(CATEGORY, "instruction", "Instruction")]}],
            "priority": priority_of(row.disposition),
            "subject": patient_ref(row.patient_id),
            "sent": instant(row.created_at),
            "recipient": [patient_ref(row.patient_id)],
            "payload": [{"contentString": advice}],
        }
        found.append(reply)
    return found
