"""The context of each hook needlewise serves (CDS Hooks library, R4 versions).

=================  =======================================================================
hook               context (required unless marked)
=================  =======================================================================
patient-view       userId, patientId, encounterId (optional)
order-select       userId, patientId, encounterId (optional), selections[], draftOrders
order-sign         userId, patientId, encounterId (optional), draftOrders
appointment-book   userId, patientId, encounterId (optional), appointments
=================  =======================================================================

``draftOrders`` and ``appointments`` are FHIR Bundles; only their outline is checked here
(a JSON object with ``entry`` a list of objects when present) — what is in them is read by
:mod:`needlewise.interop.cds_hooks.orders`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from needlewise.interop.cds_hooks.models import CdsModel, parse

PATIENT_VIEW = "patient-view"
ORDER_SELECT = "order-select"
ORDER_SIGN = "order-sign"
APPOINTMENT_BOOK = "appointment-book"


def _bundle_outline(value: dict[str, Any]) -> dict[str, Any]:
    kind = value.get("resourceType")
    if kind is not None and kind != "Bundle":
        raise ValueError("must be a FHIR Bundle (resourceType Bundle)")
    entries = value.get("entry", [])
    if type(entries) is not list or any(type(e) is not dict for e in entries):
        raise ValueError("entry must be a list of objects")
    return value


class PatientViewContext(CdsModel):
    userId: str = Field(min_length=1)
    patientId: str = Field(min_length=1)
    encounterId: str | None = None


class OrderSignContext(PatientViewContext):
    draftOrders: dict[str, Any]

    @field_validator("draftOrders")
    @classmethod
    def _bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _bundle_outline(value)


class OrderSelectContext(OrderSignContext):
    selections: list[str] = Field(min_length=1)


class AppointmentBookContext(PatientViewContext):
    appointments: dict[str, Any]

    @field_validator("appointments")
    @classmethod
    def _bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _bundle_outline(value)


HookContext = PatientViewContext | OrderSignContext | OrderSelectContext | AppointmentBookContext

CONTEXTS: dict[str, type[PatientViewContext]] = {
    PATIENT_VIEW: PatientViewContext,
    ORDER_SELECT: OrderSelectContext,
    ORDER_SIGN: OrderSignContext,
    APPOINTMENT_BOOK: AppointmentBookContext,
}


def parse_context(hook: str, context: Any) -> PatientViewContext:
    """Check ``context`` against ``hook``'s model; problems are named under ``$.context``."""
    return parse(CONTEXTS[hook], context, "$.context")
