"""The group-commit writers of CDS Hooks calls and feedback
(:class:`~needlewise.persistence.group_commit.GroupCommit`).

A hook call writes three things in one transaction: the claim of its JWT id
(:mod:`needlewise.services.jwt_replay`), one ``cds_cards`` row per card and one audit
entry. The calls of a burst share one transaction and one commit (the benchmark drives
``order-select`` at 16 connections). A replayed JWT gets :class:`Unauthorized` in its
place and nothing is written for it. The same transaction looks up the clinic's patient
with one of the EHR Patient's identifiers, so a card can link to the chart without a
second round trip.

Feedback is written the same way: the JWT claim, a check that every card named is one
we issued for this clinic and service, one ``cds_feedback`` row per item and one audit
entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from needlewise.errors import InputError, NotFound, ServiceError
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import CdsCard, CdsFeedback, PatientIdentifier
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.cds_caller import CdsCaller
from needlewise.services.jwt_replay import claim_many, replayed

Refusal = ServiceError | InputError


def caller_actor(caller: CdsCaller) -> Actor:
    """The audit log's name of a CDS client (``cds:<issuer>``, shortened with a hash
    when the issuer is longer than the column)."""
    ref = f"cds:{caller.client}"
    if len(ref) > 40:
        digest = hashlib.sha256(caller.client.encode()).hexdigest()[:12]
        ref = f"cds:{caller.client[:23]}~{digest}"
    return Actor(ref=ref, clinic_id=caller.clinic_id)


@dataclass
class CallPlan:
    """What one hook call writes."""

    caller: CdsCaller
    service_id: str
    hook: str
    hook_instance: str
    cards: list[dict[str, Any]]  # cds_cards columns except the common ones
    identifiers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CallWritten:
    patient_id: int | None  # the clinic's patient with one of the EHR Patient's identifiers


_PATIENTS = select(
    PatientIdentifier.clinic_id,
    PatientIdentifier.system,
    PatientIdentifier.value,
    PatientIdentifier.patient_id,
).where(
    PatientIdentifier.clinic_id.in_(bindparam("clinics", expanding=True)),
    PatientIdentifier.value.in_(bindparam("values", expanding=True)),
)
_CARDS = insert(CdsCard)
_FEEDBACK = insert(CdsFeedback)
_ISSUED = select(CdsCard.uuid, CdsCard.clinic_id, CdsCard.service_id).where(
    CdsCard.uuid.in_(bindparam("uuids", expanding=True))
)


def _patients(
    connection: Connection, plans: list[CallPlan], granted: list[bool]
) -> dict[tuple[int, str, str], int]:
    keys = {
        (plan.caller.clinic_id, system, value)
        for plan, ok in zip(plans, granted, strict=True)
        if ok
        for system, value in plan.identifiers
    }
    if not keys:
        return {}
    rows = connection.execute(
        _PATIENTS,
        {"clinics": sorted({k[0] for k in keys}), "values": sorted({k[2] for k in keys})},
    ).all()
    return {(c, s, v): p for c, s, v, p in rows if (c, s, v) in keys}


def write_calls(connection: Connection, plans: list[CallPlan]) -> list[CallWritten | Refusal]:
    """Write one batch of hook calls (see the module docstring)."""
    granted = claim_many(connection, [plan.caller for plan in plans])
    patients = _patients(connection, plans, granted)
    now = utcnow()
    cards: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    results: list[CallWritten | Refusal] = []
    for plan, ok in zip(plans, granted, strict=True):
        if not ok:
            results.append(replayed())
            continue
        clinic = plan.caller.clinic_id
        patient_id = next(
            (patients[(clinic, s, v)] for s, v in plan.identifiers if (clinic, s, v) in patients),
            None,
        )
        for card in plan.cards:
            cards.append(
                {
                    **card,
                    "clinic_id": clinic,
                    "service_id": plan.service_id,
                    "hook": plan.hook,
                    "hook_instance": plan.hook_instance,
                    "client": plan.caller.client,
                    "created_at": now,
                }
            )
        entries.append(
            audit.entry(
                caller_actor(plan.caller),
                "cds-hook",
                "cds-hooks-call",
                plan.hook_instance,
                patient_id,
            )
        )
        results.append(CallWritten(patient_id))
    if cards:
        connection.execute(_CARDS, cards)
    if entries:
        audit.insert_many(connection, entries)
    return results


@dataclass
class FeedbackPlan:
    """What one feedback call writes (rows of ``cds_feedback`` without the common columns)."""

    caller: CdsCaller
    service_id: str
    items: list[dict[str, Any]]


def write_feedback(connection: Connection, plans: list[FeedbackPlan]) -> list[int | Refusal]:
    """Write one batch of feedback calls; each result is the number of items stored.

    Cards are checked first: a call naming a card we did not issue is refused without
    spending its JWT id (a refused call changes nothing)."""
    wanted = {item["card_uuid"] for plan in plans for item in plan.items}
    issued: dict[str, tuple[int, str]] = {}
    if wanted:
        rows = connection.execute(_ISSUED, {"uuids": sorted(wanted)}).all()
        issued = {u: (c, s) for u, c, s in rows}
    refusals = [_unknown_card(plan, issued) for plan in plans]
    claimable = [
        plan.caller for plan, refused in zip(plans, refusals, strict=True) if refused is None
    ]
    claims = iter(claim_many(connection, claimable))
    granted = [refused is None and next(claims) for refused in refusals]
    now = utcnow()
    rows_out: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    results: list[int | Refusal] = []
    for plan, refused, ok in zip(plans, refusals, granted, strict=True):
        if refused is not None:
            results.append(refused)
            continue
        if not ok:
            results.append(replayed())
            continue
        for item in plan.items:
            rows_out.append(
                {
                    **item,
                    "clinic_id": plan.caller.clinic_id,
                    "service_id": plan.service_id,
                    "client": plan.caller.client,
                    "received_at": now,
                }
            )
        entries.append(
            audit.entry(
                caller_actor(plan.caller),
                "create",
                "cds-feedback",
                plan.items[0]["card_uuid"],
                None,
            )
        )
        results.append(len(plan.items))
    if rows_out:
        connection.execute(_FEEDBACK, rows_out)
    if entries:
        audit.insert_many(connection, entries)
    return results


def _unknown_card(plan: FeedbackPlan, issued: dict[str, tuple[int, str]]) -> Refusal | None:
    for index, item in enumerate(plan.items):
        found = issued.get(item["card_uuid"])
        if found != (plan.caller.clinic_id, plan.service_id):
            # another clinic's card answers the same as no card: nothing is revealed
            return NotFound(
                "no card with this uuid was issued by this service to this clinic",
                location=f"$.feedback[{index}].card",
            )
    return None
