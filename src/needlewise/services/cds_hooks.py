"""Use cases of the CDS Hooks 2.0 services: discovery, answering a hook, feedback.

The door (:mod:`needlewise.web.cds_hooks`) parses the body, verifies the JWT and calls:

* :func:`discovery` — ``{"services": [...]}`` for ``GET /cds-services``;
* :func:`answer_hook` — the response to ``POST /cds-services/{id}``;
* :func:`record_feedback` — ``POST /cds-services/{id}/feedback``.

Four services screen the patient for dry-needling contraindications when dry needling is
in the hook's context (:mod:`needlewise.interop.cds_hooks.orders`):

=============================  ================  ==========================================
id                             hook              screens when
=============================  ================  ==========================================
needlewise-order-select        order-select      a selected draft order is dry needling
needlewise-order-sign          order-sign        a draft order is dry needling
needlewise-appointment-book    appointment-book  an appointment being booked is dry needling
needlewise-patient-view        patient-view      the chart holds a planned dry-needling
                                                 order or appointment
=============================  ================  ==========================================

Errors: :class:`~needlewise.errors.InputError` (422) for a body that breaks the spec, at
its JSON path and without echoing values (a ``hook`` other than the service's is refused
at ``$.hook``); :class:`~needlewise.errors.NotFound` for an unknown service id;
:class:`~needlewise.errors.PreconditionFailed` (412) when data the screen needs is
neither in the prefetch nor fetchable; :class:`~needlewise.errors.Unauthorized` for a
replayed JWT id (nothing is written). An answer with no cards means "no dry needling in
context", never "screening failed": every failure is an error status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from needlewise.domain.facts import PatientFacts
from needlewise.domain.screening import screen
from needlewise.errors import InputError, NotFound
from needlewise.interop.cds_hooks import contexts, orders, prefetch
from needlewise.interop.cds_hooks.cards import (
    CardContext,
    IssuedCard,
    build_cards,
    override_code,
    override_system,
)
from needlewise.interop.cds_hooks.models import (
    CdsRequest,
    DiscoveryResponse,
    DiscoveryService,
    FeedbackRequest,
    parse,
)
from needlewise.interop.fhir.bundle import read_screening_document
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.cds_caller import CdsCaller, FhirFetcher
from needlewise.services.cds_writer import (
    CallPlan,
    CallWritten,
    FeedbackPlan,
    write_calls,
    write_feedback,
)
from needlewise.services.runtime import Runtime


@dataclass(frozen=True)
class ServiceDef:
    id: str
    hook: str
    title: str
    description: str


SERVICES: dict[str, ServiceDef] = {
    s.id: s
    for s in (
        ServiceDef(
            "needlewise-order-select",
            contexts.ORDER_SELECT,
            "Dry needling contraindication screening (order selected)",
            "When a dry-needling order (CPT 20560/20561 or the needlewise service code) is "
            "selected, screens the patient's conditions, medicines, allergies, observations "
            "and intake answers for contraindications and returns cards with the rules and "
            "their sources.",
        ),
        ServiceDef(
            "needlewise-order-sign",
            contexts.ORDER_SIGN,
            "Dry needling contraindication screening (order signed)",
            "When draft orders about to be signed include dry needling, screens the patient "
            "for contraindications; a critical card suggests removing the draft order.",
        ),
        ServiceDef(
            "needlewise-appointment-book",
            contexts.APPOINTMENT_BOOK,
            "Dry needling contraindication screening (appointment booked)",
            "When a dry-needling appointment is being booked, screens the patient for "
            "contraindications before the visit.",
        ),
        ServiceDef(
            "needlewise-patient-view",
            contexts.PATIENT_VIEW,
            "Dry needling contraindication screening (chart opened)",
            "When a chart is opened and the patient has an active dry-needling order or a "
            "booked dry-needling appointment, screens the patient for contraindications; "
            "otherwise returns no cards.",
        ),
    )
}


def service_prefetch(kb: KnowledgeBase, service: ServiceDef) -> dict[str, str]:
    """The prefetch templates of ``service``."""
    templates = prefetch.templates(kb)
    if service.hook == contexts.PATIENT_VIEW:
        templates = {**orders.patient_view_templates(kb), **templates}
    return templates


def discovery(kb: KnowledgeBase, base_url: str | None = None) -> dict[str, Any]:
    """The discovery document: every service with its hook and prefetch templates.
    (``base_url`` is not needed: service URLs are ``{base}/cds-services/{id}``.)"""
    response = DiscoveryResponse(
        services=[
            DiscoveryService(
                hook=s.hook,
                title=s.title,
                description=s.description,
                id=s.id,
                prefetch=service_prefetch(kb, s),
                usageRequirements=(
                    "Send the prefetch keys, or a fhirServer with fhirAuthorization on the "
                    "allow-list registered for your client; without the data the call is "
                    "answered 412."
                ),
            )
            for s in SERVICES.values()
        ]
    )
    return response.dump()


def _service(service_id: str) -> ServiceDef:
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound("no CDS service with this id (see GET /cds-services)")
    return service


def _planned(
    kb: KnowledgeBase,
    call: CdsRequest,
    context: contexts.PatientViewContext,
    fetch: FhirFetcher,
) -> list[orders.Planned]:
    if isinstance(context, contexts.OrderSelectContext):
        return orders.in_orders(kb, context.draftOrders, context.selections)
    if isinstance(context, contexts.OrderSignContext):
        return orders.in_orders(kb, context.draftOrders, None)
    if isinstance(context, contexts.AppointmentBookContext):
        return orders.in_appointments(kb, context.appointments)
    found: dict[str, Any] = {}
    for key, template in orders.patient_view_templates(kb).items():
        found[key] = prefetch.value_or_fetch(call.prefetch, key, template, call.context, fetch)
    return orders.in_chart(kb, found["dryNeedlingOrders"], found["dryNeedlingAppointments"])


def _identifiers(patient: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(system, value) of each identifier of the EHR's Patient (for the chart link)."""
    found = []
    for identifier in (patient or {}).get("identifier") or []:
        if type(identifier) is not dict:
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if type(system) is str and type(value) is str and len(system) <= 255:
            found.append((system, value[:255]))
    return found


def _screen_cards(
    kb: KnowledgeBase,
    call: CdsRequest,
    planned: list[orders.Planned],
    fetch: FhirFetcher,
    base_url: str,
) -> tuple[list[IssuedCard], list[tuple[str, str]]]:
    gathered = prefetch.gather(kb, call.prefetch, call.context, fetch, call.fhirServer)
    try:
        data = read_screening_document(gathered.bundle, kb)
    except InputError as exc:
        raise prefetch.origin_of(exc, gathered.origins) from None
    facts = PatientFacts(
        as_of=date.today(),
        answers=MappingProxyType(dict(data.answers)),
        records=tuple(data.records),
        birth_date=data.birth_date,
        birth_date_recorded=data.birth_date_recorded,
        patient_reference=data.patient_reference,
        electrical_stimulation=None,  # not known from an order: counts as planned
    )
    result = screen(facts, kb, "en")
    card_context = CardContext(
        base_url=base_url.rstrip("/"),
        hook=call.hook,
        planned=tuple(planned),
        checked=tuple(f"{n} {kind}" for kind, n in sorted(gathered.counts.items())),
        not_shared=tuple(gathered.missing),
    )
    return build_cards(kb, result, card_context), _identifiers(gathered.patient)


def _prepare(
    kb: KnowledgeBase,
    service_id: str,
    request: dict[str, Any],
    caller: CdsCaller,
    fetch: FhirFetcher,
    base_url: str,
) -> tuple[list[IssuedCard], CallPlan]:
    """Everything but the write: check the call, screen, build the cards (no side
    effects, so it may be run again)."""
    service = _service(service_id)
    call = parse(CdsRequest, request)
    if call.hook != service.hook:
        raise InputError(
            f"this service answers the {service.hook} hook; the request is for another hook",
            "$.hook",
        )
    context = contexts.parse_context(service.hook, call.context)
    planned = _planned(kb, call, context, fetch)
    issued: list[IssuedCard] = []
    identifiers: list[tuple[str, str]] = []
    if planned:
        issued, identifiers = _screen_cards(kb, call, planned, fetch, base_url)
    plan = CallPlan(
        caller=caller,
        service_id=service.id,
        hook=service.hook,
        hook_instance=call.hookInstance,
        cards=[
            {
                "uuid": c.card["uuid"],
                "indicator": c.card["indicator"],
                "summary": c.card["summary"],
                "rules": c.rules,
            }
            for c in issued
        ],
        identifiers=identifiers,
    )
    return issued, plan


def _answer(issued: list[IssuedCard], written: CallWritten, base_url: str) -> dict[str, Any]:
    if written.patient_id is not None:
        chart = f"{base_url.rstrip('/')}/app/patients/{written.patient_id}"
        for c in issued:
            c.card["links"].append(
                {"label": "Patient in needlewise", "url": chart, "type": "absolute"}
            )
    return {"cards": [c.card for c in issued]}


def answer_hook(
    runtime: Runtime,
    kb: KnowledgeBase,
    service_id: str,
    request: dict[str, Any],
    caller: CdsCaller,
    fetch: FhirFetcher,
    *,
    base_url: str,
) -> dict[str, Any]:
    """Answer one hook call: ``{"cards": [...]}`` (see the module docstring).

    ``kb`` is the knowledge the screen uses (the runtime's, as a rule); ``fetch`` reads
    prefetch the client left out from its ``fhirServer`` (the door builds it from the
    caller's allow-list); ``base_url`` is our public base, for the cards' links.

    The JWT id claim, the cards and the audit entry are written in one transaction
    (shared with concurrent calls through the group commit) before the answer returns."""
    issued, plan = _prepare(kb, service_id, request, caller, fetch, base_url)
    written: CallWritten = runtime.db.group.run(plan, write_calls)
    return _answer(issued, written, base_url)


def _feedback_plan(
    runtime: Runtime, service_id: str, request: dict[str, Any], caller: CdsCaller
) -> FeedbackPlan:
    service = _service(service_id)
    body = parse(FeedbackRequest, request)
    system = override_system(runtime.kb)
    displays = {  # stored with our wording, not the client's echo of it
        override_code(reason.id): reason.title.en for reason in runtime.kb.data.override_reasons
    }
    items = []
    for index, item in enumerate(body.feedback):
        reason = item.overrideReason.reason if item.overrideReason is not None else None
        if reason is not None and (reason.system != system or reason.code not in displays):
            raise InputError(
                f"not one of this service's override reasons (system {system})",
                f"$.feedback[{index}].overrideReason.reason",
            )
        items.append(
            {
                "card_uuid": item.card,
                "outcome": item.outcome,
                "accepted_suggestions": [s.id for s in item.acceptedSuggestions or []],
                "override_system": reason.system if reason else None,
                "override_code": reason.code if reason else None,
                "override_display": displays[reason.code] if reason else None,
                "user_comment": item.overrideReason.userComment if item.overrideReason else None,
                "outcome_timestamp": item.outcomeTimestamp,
            }
        )
    return FeedbackPlan(caller=caller, service_id=service.id, items=items)


def record_feedback(
    runtime: Runtime, service_id: str, request: dict[str, Any], caller: CdsCaller
) -> int:
    """Store the feedback on our cards; returns the number of items stored.

    Every card must be one this service issued to the caller's clinic (else 404 at
    ``$.feedback[i].card``); an override reason must be one we offer (our override-reason
    code system), else 422 at ``…overrideReason.reason``. Nothing is stored, and the JWT
    id is not spent, when any item is refused."""
    plan = _feedback_plan(runtime, service_id, request, caller)
    stored: int = runtime.db.group.run(plan, write_feedback)
    return stored
