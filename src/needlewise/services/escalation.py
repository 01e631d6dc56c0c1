"""Escalation: the clinic hears about an emergency or call-provider check-in at once, and
again until a clinician acknowledges it.

**Who is alerted.** The clinic's alert address (``Clinic.alert_email``). A clinic with no
alert address gets the alert on its outbox page instead (channel ``outbox``): a staff
member phones the clinician on call and marks it handled. The alert is a row of
``outbound_messages`` (kind ``clinic-alert``, then ``clinic-realert``, ``params``
``{"disposition", "repeat"}``, ids only); the worker (:mod:`needlewise.jobs`) renders and
sends it. No alert carries a name or an answer: it says a check-in needs a clinician.

**When.** :func:`alert_stored` runs inside the check-in's own transaction (the group
commit of :mod:`needlewise.services.check_in_writer`): a check-in that is not stored (a
refusal, a flood repeat of one the clinic already has, a failed batch) writes no alert,
and a stored one is never without its alert. It also sets ``CheckIn.next_alert_at``.
After the commit, :func:`wake_for` tells the worker (``runtime.jobs.wake``) so the alert
goes now rather than at the next sweep.

**Repeats.** :func:`repeat_due_alerts` (the worker's sweep calls it) sends the alert
again for every unacknowledged emergency or call-provider check-in whose
``next_alert_at`` has passed, and moves ``next_alert_at`` on by the repeat time: the
clinic's own ``alert_repeat_minutes`` (:mod:`needlewise.services.aftercare_config`),
else ``NEEDLEWISE_ALERT_REPEAT_MINUTES_EMERGENCY`` / ``_CALL_PROVIDER``. An emergency
never waits longer than a call-provider check-in would. Each repeat claims the check-in
with a compare-and-set on ``next_alert_at`` and has the idempotency key
``alert:{check_in_id}:{n}``, so two workers sweeping at once (SQLite or PostgreSQL)
write one row per repeat.

**Acknowledgement.** :func:`acknowledged` (called by
:func:`needlewise.services.check_in_review.acknowledge_check_in`, in its transaction)
clears ``next_alert_at`` and cancels the alerts not yet sent (``cancel_reason``
``acknowledged``). The acknowledgement itself (who, when) is on the check-in and in the
audit log.

The patient is always told what to do themselves first (call 911, or call the clinic
today); the clinic's alert never replaces that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from needlewise.config import Settings
from needlewise.persistence.models import CheckIn, Clinic, OutboundMessage, Patient
from needlewise.services.aftercare_config import Disposition, clinic_aftercare
from needlewise.services.check_in_models import CheckInOut
from needlewise.services.runtime import Runtime

__all__ = [
    "ALERTING",
    "AlertStatus",
    "acknowledged",
    "alert_statuses",
    "alert_stored",
    "repeat_due_alerts",
    "repeat_minutes",
    "wake_for",
]

#: the dispositions that alert the clinic
ALERTING = ("emergency", "call-provider")
#: the message kinds of clinic alerts
ALERT_KINDS = ("clinic-alert", "clinic-realert")
#: check-ins handled per transaction by one sweep
SWEEP_BATCH = 200

_CLINICS = (
    select(
        Patient.id.label("patient_id"),
        Clinic.id.label("clinic_id"),
        Clinic.alert_email,
        Clinic.aftercare,
        Clinic.languages,
    )
    .join(Clinic, Clinic.id == Patient.clinic_id)
    .where(Patient.id.in_(bindparam("ids", expanding=True)))
)
_NEXT = (
    update(CheckIn).where(CheckIn.id == bindparam("target")).values(next_alert_at=bindparam("next"))
)


def repeat_minutes(settings: Settings, stored_aftercare: Any, disposition: str) -> int:
    """Minutes an unacknowledged alert waits before it is sent again: the clinic's own
    value, else the deployment's setting. An emergency's wait is never longer than a
    call-provider one's (a clinic that set them the other way round gets the shorter
    for both); a value below one minute counts as unset."""
    own = clinic_aftercare(stored_aftercare).alert_repeat_minutes

    def pick(which: Disposition, default: int) -> int:
        value = own.get(which)
        return value if isinstance(value, int) and value >= 1 else default

    call = pick("call-provider", settings.alert_repeat_minutes_call_provider)
    if disposition == "emergency":
        return min(pick("emergency", settings.alert_repeat_minutes_emergency), call)
    return call


def _language(languages: Any) -> str:
    """The language of the clinic's alerts: its first language when we write it."""
    for code in languages or []:
        if code in ("en", "es"):
            return str(code)
    return "en"


def _message(
    clinic: Any, check_in_id: int, patient_id: int, disposition: str, repeat: int, now: datetime
) -> dict[str, Any]:
    """The outbound row of one alert (``repeat`` 0 is the first)."""
    email = clinic.alert_email
    return {
        "clinic_id": clinic.clinic_id,
        "patient_id": patient_id,
        "session_id": None,
        "check_in_id": check_in_id,
        "link_id": None,
        "parent_id": None,
        "kind": "clinic-alert" if repeat == 0 else "clinic-realert",
        "rule": None,
        "channel": "email" if email else "outbox",
        "recipient": email or None,
        "language": _language(clinic.languages),
        "due_at": now,
        "state": "scheduled",
        "idempotency_key": f"alert:{check_in_id}:{repeat}",
        "attempts": 0,
        "params": {"disposition": disposition, "repeat": repeat},
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def alert_stored(
    connection: Connection, settings: Settings, now: datetime, stored: Iterable[dict[str, Any]]
) -> int:
    """Alert the clinic about the check-ins just inserted in this transaction (rows with
    their ``id``) that are emergency or call-provider; returns how many alerts."""
    urgent = [row for row in stored if row.get("disposition") in ALERTING and row.get("id")]
    if not urgent:
        return 0
    ids = sorted({row["patient_id"] for row in urgent})
    clinics = {c.patient_id: c for c in connection.execute(_CLINICS, {"ids": ids})}
    messages, nexts = [], []
    for row in urgent:
        clinic = clinics[row["patient_id"]]
        disposition = row["disposition"]
        minutes = repeat_minutes(settings, clinic.aftercare, disposition)
        messages.append(_message(clinic, row["id"], row["patient_id"], disposition, 0, now))
        nexts.append({"target": row["id"], "next": now + timedelta(minutes=minutes)})
    connection.execute(insert(OutboundMessage), messages)
    connection.execute(_NEXT, nexts)
    return len(messages)


def wake_for(runtime: Runtime, check_in: CheckInOut | None) -> None:
    """After the commit: tell the worker an alert is due now (for a new emergency or
    call-provider check-in; nothing otherwise)."""
    if check_in is not None and check_in.disposition in ALERTING:
        runtime.jobs.wake(check_in.created_at)


def _insert_ignoring_taken(connection: Connection, row: dict[str, Any]) -> bool:
    """Insert one message unless its idempotency key is taken; True when inserted."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        pg = (
            postgresql.insert(OutboundMessage)
            .values(row)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        return bool(connection.execute(pg).rowcount)
    lite = (
        sqlite.insert(OutboundMessage)
        .values(row)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return bool(connection.execute(lite).rowcount)


_DUE = (
    select(
        CheckIn.id,
        CheckIn.patient_id,
        CheckIn.disposition,
        CheckIn.next_alert_at,
        Patient.clinic_id,
        Clinic.alert_email,
        Clinic.aftercare,
        Clinic.languages,
    )
    .join(Patient, Patient.id == CheckIn.patient_id)
    .join(Clinic, Clinic.id == Patient.clinic_id)
    .where(
        CheckIn.next_alert_at <= bindparam("now"),
        CheckIn.acknowledged_at.is_(None),
        CheckIn.disposition.in_(ALERTING),
    )
    .order_by(CheckIn.id)
    .limit(SWEEP_BATCH)
)


def repeat_due_alerts(runtime: Runtime, now: datetime) -> int:
    """Send again the alerts of unacknowledged emergency and call-provider check-ins
    whose ``next_alert_at`` is at or before ``now`` (UTC); returns how many repeats were
    written. Idempotent, and safe to run from several workers at once."""
    made = 0
    while True:
        claimed, seen = _sweep_once(runtime, now)
        made += claimed
        if seen < SWEEP_BATCH:
            return made


def _sweep_once(runtime: Runtime, now: datetime) -> tuple[int, int]:
    """One transaction of the sweep: (repeats written, due check-ins looked at)."""
    made = 0
    with runtime.db.write() as tx:
        connection = tx.connection()
        due = connection.execute(_DUE, {"now": now}).all()
        for row in due:
            minutes = repeat_minutes(runtime.settings, row.aftercare, row.disposition)
            claim = connection.execute(
                update(CheckIn)
                .where(
                    CheckIn.id == row.id,
                    CheckIn.next_alert_at == row.next_alert_at,
                    CheckIn.acknowledged_at.is_(None),
                )
                .values(next_alert_at=now + timedelta(minutes=minutes))
            )
            if claim.rowcount != 1:  # another worker took it, or it was acknowledged
                continue
            repeat = connection.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.check_in_id == row.id, OutboundMessage.kind.in_(ALERT_KINDS))
            )
            message = _message(row, row.id, row.patient_id, row.disposition, repeat or 1, now)
            made += _insert_ignoring_taken(connection, message)
    return made, len(due)


def acknowledged(tx: Session, check_in: CheckIn) -> int:
    """In the acknowledgement's transaction: stop the repeats of ``check_in`` and cancel
    its alerts not yet sent. Returns how many were cancelled."""
    check_in.next_alert_at = None
    done = tx.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.check_in_id == check_in.id,
            OutboundMessage.kind.in_(ALERT_KINDS),
            OutboundMessage.state == "scheduled",
        )
        .values(
            state="cancelled",
            cancel_reason="acknowledged",
            version=OutboundMessage.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AlertStatus:
    """How the clinic was alerted about one check-in: alerts ``sent`` (emails sent,
    outbox alerts handled), alerts ``waiting`` (scheduled or being sent), and whether
    they go to the ``outbox`` (the clinic has no alert address)."""

    sent: int = 0
    waiting: int = 0
    outbox: bool = False


def alert_statuses(runtime: Runtime, check_in_ids: list[int]) -> dict[int, AlertStatus]:
    """The alert status of each of ``check_in_ids`` (ids the caller may already see;
    no patient data is read, so nothing is audited here)."""
    if not check_in_ids:
        return {}
    counts: dict[int, dict[str, Any]] = {}
    with runtime.db.read() as tx:
        rows = tx.execute(
            select(
                OutboundMessage.check_in_id,
                OutboundMessage.state,
                OutboundMessage.channel,
                func.count(),
            )
            .where(
                OutboundMessage.check_in_id.in_(check_in_ids),
                OutboundMessage.kind.in_(ALERT_KINDS),
            )
            .group_by(OutboundMessage.check_in_id, OutboundMessage.state, OutboundMessage.channel)
        )
        for check_in_id, state, channel, count in rows:
            if check_in_id is None:  # pragma: no cover - the query names check-ins
                continue
            entry = counts.setdefault(check_in_id, {"sent": 0, "waiting": 0, "outbox": False})
            if state in ("sent", "handled"):
                entry["sent"] += count
            elif state in ("scheduled", "sending"):
                entry["waiting"] += count
            entry["outbox"] = entry["outbox"] or channel == "outbox"
    return {key: AlertStatus(**value) for key, value in counts.items()}
