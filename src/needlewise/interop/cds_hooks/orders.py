"""Is dry needling in a hook's context? Which orders or appointments say so?

Dry needling is recognised by a coding on the order or appointment:

* CPT 20560 or 20561 (the codes of ``billing.yaml``; system
  ``http://www.ama-assn.org/go/cpt`` or its OID ``urn:oid:2.16.840.1.113883.6.12``), or
* our service code ``dry-needling`` in ``{canonical_base}/CodeSystem/service``
  (:func:`service_system`), for EHRs that order it under their own procedure code and
  map it to ours.

Where we look:

* order-select: the draft ServiceRequests named in ``selections`` (the orders just
  chosen; the rest of ``draftOrders`` was screened when it was selected, and order-sign
  sees them all again); a dry-needling draft without an ``id`` cannot be matched to a
  selection and counts as selected;
* order-sign: every ServiceRequest in ``draftOrders``;
* appointment-book: every Appointment in ``appointments`` whose ``serviceType``,
  ``serviceCategory`` or ``appointmentType`` carries one of the codes;
* patient-view: an active (or draft / on-hold) ServiceRequest from prefetch
  ``dryNeedlingOrders``, or a proposed, pending or booked Appointment from
  ``dryNeedlingAppointments`` (:data:`PATIENT_VIEW_TEMPLATES`) — a chart opened with no
  dry needling planned gets no card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from needlewise.interop.fhir.canonical import code_system_url
from needlewise.knowledge.base import KnowledgeBase

SERVICE_CODE = "dry-needling"
CPT_SYSTEMS = frozenset({"http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.12"})

ORDER_STATUSES = frozenset({"draft", "active", "on-hold"})
APPOINTMENT_STATUSES = frozenset({"proposed", "pending", "booked"})


def service_system(kb: KnowledgeBase) -> str:
    """The code system of the services we publish (``…/CodeSystem/service``)."""
    return code_system_url(kb, "service")


def cpt_codes(kb: KnowledgeBase) -> frozenset[str]:
    """The CPT codes of dry needling held in the knowledge base (20560, 20561)."""
    return frozenset(
        item.code.code for item in kb.data.billing.codes if item.code.system in CPT_SYSTEMS
    )


def patient_view_templates(kb: KnowledgeBase) -> dict[str, str]:
    """Extra prefetch of the patient-view service: planned dry needling of the patient."""
    codes = ",".join(
        [f"http://www.ama-assn.org/go/cpt|{c}" for c in sorted(cpt_codes(kb))]
        + [f"{service_system(kb)}|{SERVICE_CODE}"]
    )
    patient = "{{context.patientId}}"
    return {
        "dryNeedlingOrders": f"ServiceRequest?patient={patient}&status=active&code={codes}",
        "dryNeedlingAppointments": (
            f"Appointment?patient={patient}&status=proposed,pending,booked&service-type={codes}"
        ),
    }


@dataclass(frozen=True)
class Planned:
    """A dry-needling order or appointment found in the context or prefetch."""

    reference: str  # "ServiceRequest/abc" (the resourceId of a delete suggestion)
    resource_type: str
    in_draft: bool  # a draft order of order-select/order-sign the clinician may remove


class Recognizer:
    """Finds dry needling among FHIR resources (plain JSON)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.cpt = cpt_codes(kb)
        self.service = service_system(kb)

    def coded(self, concept: Any) -> bool:
        """True when a CodeableConcept carries a dry-needling code."""
        if type(concept) is not dict:
            return False
        for coding in concept.get("coding") or []:
            if type(coding) is not dict:
                continue
            system, code = coding.get("system"), coding.get("code")
            if type(code) is not str:
                continue
            if system in CPT_SYSTEMS and code.strip() in self.cpt:
                return True
            if system == self.service and code == SERVICE_CODE:
                return True
        return False

    def is_order(self, resource: Any) -> bool:
        return (
            type(resource) is dict
            and resource.get("resourceType") == "ServiceRequest"
            and self.coded(resource.get("code"))
        )

    def is_appointment(self, resource: Any) -> bool:
        if type(resource) is not dict or resource.get("resourceType") != "Appointment":
            return False
        concepts: list[Any] = []
        for key in ("serviceType", "serviceCategory"):
            value = resource.get(key)
            if type(value) is list:
                concepts.extend(value)
        concepts.append(resource.get("appointmentType"))
        return any(self.coded(c) for c in concepts)


def _resources(bundle: Any) -> list[dict[str, Any]]:
    if type(bundle) is not dict:
        return []
    found = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if type(entry) is dict else None
        if type(resource) is dict:
            found.append(resource)
    return found


def _reference(resource: dict[str, Any]) -> str:
    rid = resource.get("id")
    kind = str(resource.get("resourceType"))
    return f"{kind}/{rid}" if type(rid) is str and rid else kind


def in_orders(kb: KnowledgeBase, draft_orders: Any, selections: list[str] | None) -> list[Planned]:
    """Dry-needling ServiceRequests among ``draftOrders`` (only the selected ones when
    ``selections`` is given)."""
    recognizer = Recognizer(kb)
    wanted = None if selections is None else {s.split("/_history")[0] for s in selections}
    found = []
    for resource in _resources(draft_orders):
        if not recognizer.is_order(resource):
            continue
        reference = _reference(resource)
        if wanted is not None and reference not in wanted and "id" in resource:
            continue  # (an order without an id cannot be told apart: it counts as selected)
        found.append(Planned(reference, "ServiceRequest", in_draft=True))
    return found


def in_appointments(kb: KnowledgeBase, appointments: Any) -> list[Planned]:
    """Dry-needling Appointments among the ``appointments`` being booked."""
    recognizer = Recognizer(kb)
    return [
        Planned(_reference(r), "Appointment", in_draft=False)
        for r in _resources(appointments)
        if recognizer.is_appointment(r)
    ]


def in_chart(kb: KnowledgeBase, orders: Any, appointments: Any) -> list[Planned]:
    """Planned dry needling in patient-view prefetch (statuses re-checked here: a client
    may ignore a template's filters)."""
    recognizer = Recognizer(kb)
    found = [
        Planned(_reference(r), "ServiceRequest", in_draft=False)
        for r in _resources(orders) + ([orders] if _single(orders, "ServiceRequest") else [])
        if recognizer.is_order(r) and r.get("status") in ORDER_STATUSES
    ]
    found += [
        Planned(_reference(r), "Appointment", in_draft=False)
        for r in _resources(appointments)
        + ([appointments] if _single(appointments, "Appointment") else [])
        if recognizer.is_appointment(r) and r.get("status") in APPOINTMENT_STATUSES
    ]
    return found


def _single(value: Any, kind: str) -> bool:
    return type(value) is dict and value.get("resourceType") == kind
