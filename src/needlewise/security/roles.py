"""Roles and what each may do. Every API route names one permission (or is public or
patient-link only); this table is the single place that grants them.

* **admin** runs the clinic's accounts, providers and settings and reads the audit log,
  and (with clinicians) imports an EHR's records;
* **clinician** does the clinical work (consents, sessions, adverse events, overrides,
  acknowledging check-ins) and everything front desk does;
* **front-desk** registers patients, sends patient links, records intake and check-ins
  taken by phone, and reads what scheduling needs.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    clinician = "clinician"
    front_desk = "front-desk"


A, C, F = Role.admin, Role.clinician, Role.front_desk

PERMISSIONS: dict[str, frozenset[Role]] = {
    "clinic:read": frozenset({A, C, F}),
    "clinic:write": frozenset({A}),
    "users:read": frozenset({A}),
    "users:write": frozenset({A}),
    "providers:read": frozenset({A, C, F}),
    "providers:write": frozenset({A}),
    "patients:read": frozenset({A, C, F}),
    "patients:write": frozenset({A, C, F}),
    "screenings:read": frozenset({A, C, F}),
    "screenings:write": frozenset({A, C, F}),
    # loading an EHR's records (conditions, medicines) that screening then acts on
    "records:import": frozenset({A, C}),
    "consents:read": frozenset({A, C, F}),
    "consents:write": frozenset(
        {C}
    ),  # taking consent is clinical: risks explained, signing witnessed
    "sessions:read": frozenset({A, C}),
    "sessions:write": frozenset({C}),
    "adverse-events:read": frozenset({A, C}),
    "adverse-events:write": frozenset({C}),
    "check-ins:read": frozenset({A, C, F}),
    "check-ins:write": frozenset({A, C, F}),
    "check-ins:acknowledge": frozenset({C}),
    "links:write": frozenset({A, C, F}),
    "audit:read": frozenset({A}),
    # the clinic's safety record: aggregate adverse-event and check-in rates
    "safety-report:read": frozenset({A, C}),
    "tools:use": frozenset({A, C, F}),
}


def allowed(role: Role, permission: str) -> bool:
    """May ``role`` use ``permission``? Unknown permissions are never granted."""
    return role in PERMISSIONS.get(permission, frozenset())
