"""Escalation on both databases (services/escalation.py): an emergency or call-provider
check-in alerts the clinic in its own transaction, the alert repeats until a clinician
acknowledges it (the clock is injected: no sleeps), two workers sweeping at once write
one row per repeat, and the acknowledgement (who, when) stops the repeats."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from needlewise.config import Settings
from needlewise.persistence.models import AuditEntry, CheckIn, Clinic, OutboundMessage
from needlewise.security.roles import Role
from needlewise.services.check_ins import record_check_in
from needlewise.services.escalation import repeat_due_alerts, repeat_minutes
from needlewise.services.job_port import NoWorker
from support.service import Service, make_service, settings_for
from support.treatment import make_patient

EMERGENCY = {"symptoms": ["symptom.chest-pain"], "hours_since_treatment": 3.0}
CALL_PROVIDER = {"symptoms": ["symptom.fever"], "hours_since_treatment": 30.0}
SELF_CARE = {"symptoms": [], "hours_since_treatment": 30.0}
ANSWERS = {"emergency": EMERGENCY, "call-provider": CALL_PROVIDER}
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def set_clinic(service: Service, **values: Any) -> None:
    """Set the clinic's alert address and aftercare settings (what its admin would)."""
    with service.runtime.db.write() as tx:
        tx.execute(update(Clinic).where(Clinic.id == service.clinic_id).values(**values))


def check_in(service: Service, answers: dict[str, Any], patient: int | None = None) -> int:
    patient = patient or make_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/check-ins",
        json=answers,
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    check_in_id: int = response.json()["id"]
    return check_in_id


def check_in_with(service: Service, jobs: NoWorker, answers: dict[str, Any]) -> int:
    """A staff check-in through the use case, on the service's runtime with ``jobs`` as
    its worker port (to see what it wakes)."""
    runtime = replace(service.runtime, jobs=jobs)
    actor = service.actor(Role.front_desk)
    return record_check_in(runtime, actor, make_patient(service), answers).id


def stored(service: Service, check_in_id: int) -> CheckIn:
    with service.runtime.db.read() as tx:
        row = tx.get(CheckIn, check_in_id)
        assert row is not None
        tx.expunge(row)
        return row


def alerts(service: Service, check_in_id: int | None = None) -> list[OutboundMessage]:
    """The alert rows (of one check-in), oldest first."""
    query = select(OutboundMessage).where(
        OutboundMessage.kind.in_(("clinic-alert", "clinic-realert"))
    )
    if check_in_id is not None:
        query = query.where(OutboundMessage.check_in_id == check_in_id)
    with service.runtime.db.read() as tx:
        rows = list(tx.scalars(query.order_by(OutboundMessage.id)))
        tx.expunge_all()
        return rows


def acknowledge(service: Service, check_in_id: int) -> dict[str, Any]:
    url = f"/api/check-ins/{check_in_id}/acknowledge"
    clinician = service.headers(Role.clinician)
    etag = service.client.get(f"/api/check-ins/{check_in_id}", headers=clinician).headers["etag"]
    done = service.client.post(url, headers={**clinician, "if-match": etag})
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


# --- the repeat time, rule by rule (pure: settings and the clinic's stored value) ----

SETTINGS = Settings(alert_repeat_minutes_emergency=15, alert_repeat_minutes_call_provider=60)


@pytest.mark.parametrize(
    ("case", "stored_aftercare", "disposition", "minutes"),
    [
        ("settings default, emergency", None, "emergency", 15),
        ("settings default, call-provider", None, "call-provider", 60),
        ("clinic override, emergency", {"alert_repeat_minutes": {"emergency": 5}}, "emergency", 5),
        (
            "clinic override, call-provider",
            {"alert_repeat_minutes": {"call-provider": 30}},
            "call-provider",
            30,
        ),
        (
            "clinic sets only call-provider below the emergency default: emergency follows",
            {"alert_repeat_minutes": {"call-provider": 10}},
            "emergency",
            10,
        ),
        (
            "clinic sets emergency longer than call-provider: never longer",
            {"alert_repeat_minutes": {"emergency": 90, "call-provider": 30}},
            "emergency",
            30,
        ),
        ("unreadable stored value: the defaults", {"alert_repeat_minutes": "x"}, "emergency", 15),
        ("zero counts as unset", {"alert_repeat_minutes": {"emergency": 0}}, "emergency", 15),
    ],
)
def test_repeat_minutes(case: str, stored_aftercare: Any, disposition: str, minutes: int) -> None:
    assert repeat_minutes(SETTINGS, stored_aftercare, disposition) == minutes, case


# --- the re-notification timing table, on both databases, with an injected clock -----


@pytest.mark.parametrize(
    ("disposition", "clinic_minutes", "minutes"),
    [
        ("emergency", None, 15),  # settings default
        ("call-provider", None, 60),  # settings default
        ("emergency", {"emergency": 5}, 5),  # the clinic's own
        ("call-provider", {"call-provider": 20}, 20),  # the clinic's own
    ],
)
def test_alert_then_repeats_until_acknowledged(
    service: Service, disposition: str, clinic_minutes: dict[str, int] | None, minutes: int
) -> None:
    set_clinic(
        service,
        alert_email="alerts@clinic.example",
        aftercare={"alert_repeat_minutes": clinic_minutes} if clinic_minutes else None,
    )
    jobs = NoWorker()  # the port the use case wakes after its commit
    cid = check_in_with(service, jobs, ANSWERS[disposition])
    row = stored(service, cid)
    assert row.next_alert_at is not None
    created = row.created_at
    assert row.next_alert_at - created == minutes * MINUTE
    assert jobs.woken == [created]  # woken after the commit, due now

    (first,) = alerts(service, cid)
    assert (first.kind, first.channel, first.recipient, first.state) == (
        "clinic-alert",
        "email",
        "alerts@clinic.example",
        "scheduled",
    )
    assert first.idempotency_key == f"alert:{cid}:0"
    assert first.params == {"disposition": disposition, "repeat": 0}
    assert (first.patient_id, first.clinic_id, first.due_at) == (
        row.patient_id,
        service.clinic_id,
        created,
    )

    due = row.next_alert_at
    assert repeat_due_alerts(service.runtime, due - SECOND) == 0
    assert repeat_due_alerts(service.runtime, due) == 1
    assert repeat_due_alerts(service.runtime, due) == 0  # idempotent
    assert repeat_due_alerts(service.runtime, due + (minutes - 1) * MINUTE) == 0
    assert stored(service, cid).next_alert_at == due + minutes * MINUTE
    assert repeat_due_alerts(service.runtime, due + minutes * MINUTE) == 1
    rows = alerts(service, cid)
    assert [(m.kind, m.params["repeat"], m.idempotency_key) for m in rows] == [
        ("clinic-alert", 0, f"alert:{cid}:0"),
        ("clinic-realert", 1, f"alert:{cid}:1"),
        ("clinic-realert", 2, f"alert:{cid}:2"),
    ]
    assert rows[2].due_at == due + minutes * MINUTE
    assert {m.params["disposition"] for m in rows} == {disposition}


def test_settings_defaults_come_from_the_deployment(database_url: str, valuesets_dir: Any) -> None:
    settings = settings_for(
        database_url,
        valuesets_dir,
        alert_repeat_minutes_emergency=3,
        alert_repeat_minutes_call_provider=45,
    )
    with make_service(settings) as service:
        for disposition, minutes in (("emergency", 3), ("call-provider", 45)):
            row = stored(service, check_in(service, ANSWERS[disposition]))
            assert row.next_alert_at is not None
            assert row.next_alert_at - row.created_at == minutes * MINUTE


def test_no_alert_address_puts_the_alert_on_the_outbox(service: Service) -> None:
    set_clinic(service, alert_email=None, languages=["es", "en"])
    cid = check_in(service, EMERGENCY)
    (first,) = alerts(service, cid)
    assert (first.channel, first.recipient, first.language) == ("outbox", None, "es")
    due = stored(service, cid).next_alert_at
    assert due is not None
    assert repeat_due_alerts(service.runtime, due) == 1
    assert [m.channel for m in alerts(service, cid)] == ["outbox", "outbox"]


def test_self_care_alerts_no_one(service: Service) -> None:
    set_clinic(service, alert_email="alerts@clinic.example")
    jobs = NoWorker()
    cid = check_in_with(service, jobs, SELF_CARE)
    assert stored(service, cid).disposition == "self-care"
    assert stored(service, cid).next_alert_at is None
    assert alerts(service) == []
    assert jobs.woken == []
    assert repeat_due_alerts(service.runtime, stored(service, cid).created_at + 1000 * MINUTE) == 0


def test_acknowledged_before_the_first_repeat(service: Service) -> None:
    set_clinic(service, alert_email="alerts@clinic.example")
    cid = check_in(service, EMERGENCY)
    due = stored(service, cid).next_alert_at
    assert due is not None
    done = acknowledge(service, cid)
    assert done["acknowledged_by"] == service.users[Role.clinician].id
    assert stored(service, cid).next_alert_at is None
    (first,) = alerts(service, cid)
    assert (first.state, first.cancel_reason) == ("cancelled", "acknowledged")
    assert repeat_due_alerts(service.runtime, due + 1000 * MINUTE) == 0
    assert len(alerts(service, cid)) == 1


def test_acknowledged_after_the_first_repeat(service: Service) -> None:
    set_clinic(service, alert_email="alerts@clinic.example")
    cid = check_in(service, CALL_PROVIDER)
    due = stored(service, cid).next_alert_at
    assert due is not None
    with service.runtime.db.write() as tx:  # the worker sent the first alert
        tx.execute(
            update(OutboundMessage)
            .where(OutboundMessage.idempotency_key == f"alert:{cid}:0")
            .values(state="sent", sent_at=due - MINUTE)
        )
    assert repeat_due_alerts(service.runtime, due) == 1
    acknowledge(service, cid)
    rows = alerts(service, cid)
    assert [(m.params["repeat"], m.state, m.cancel_reason) for m in rows] == [
        (0, "sent", None),  # what went out stays as it was
        (1, "cancelled", "acknowledged"),
    ]
    assert repeat_due_alerts(service.runtime, due + 1000 * MINUTE) == 0


def test_acknowledgement_is_audited_with_who_and_when(service: Service) -> None:
    cid = check_in(service, EMERGENCY)
    done = acknowledge(service, cid)
    when = datetime.fromisoformat(done["acknowledged_at"])
    with service.runtime.db.read() as tx:
        entry = tx.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "acknowledge", AuditEntry.resource_id == str(cid)
            )
        ).one()
    assert entry.actor == f"user:{service.users[Role.clinician].id}"
    assert entry.outcome == "ok"
    assert abs(entry.at - when) < timedelta(seconds=5)  # the same transaction's time
    etag = f'"check-in-{cid}-v{done["version"]}"'
    again = service.client.post(
        f"/api/check-ins/{cid}/acknowledge",
        headers={**service.headers(Role.clinician), "if-match": etag},
    )
    assert again.status_code == 409
    with service.runtime.db.read() as tx:
        refused = tx.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "acknowledge", AuditEntry.resource_id == str(cid)
            )
        ).all()
    assert sorted((e.outcome, e.reason, e.actor) for e in refused) == [
        ("ok", None, entry.actor),
        ("refused", "already-acknowledged", entry.actor),
    ]


def test_a_stale_acknowledgement_is_refused_and_audited(service: Service) -> None:
    cid = check_in(service, CALL_PROVIDER)
    stale = service.client.post(
        f"/api/check-ins/{cid}/acknowledge",
        headers={**service.headers(Role.clinician), "if-match": f'"check-in-{cid}-v0"'},
    )
    assert stale.status_code == 412
    with service.runtime.db.read() as tx:
        entry = tx.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "acknowledge", AuditEntry.resource_id == str(cid)
            )
        ).one()
    assert (entry.outcome, entry.reason) == ("refused", "stale-version")
    assert stored(service, cid).acknowledged_at is None
    assert [m.state for m in alerts(service, cid)] == ["scheduled"]  # alerts go on


def sweep_together(service: Service, now: datetime, workers: int = 2) -> list[int]:
    """Run ``workers`` sweeps at once (released together); what each one wrote."""
    barrier = threading.Barrier(workers)
    made: list[int] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            made.append(repeat_due_alerts(service.runtime, now))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return made


def test_concurrent_sweeps_write_one_row_per_repeat(service: Service) -> None:
    set_clinic(service, alert_email="alerts@clinic.example")
    ids = [check_in(service, EMERGENCY) for _ in range(4)]
    now = max(stored(service, cid).next_alert_at or datetime.max for cid in ids)
    for n in range(1, 4):
        made = sweep_together(service, now)
        assert sum(made) == len(ids), made
        for cid in ids:
            keys = [m.idempotency_key for m in alerts(service, cid)]
            assert keys == [f"alert:{cid}:{k}" for k in range(n + 1)]
        now += 15 * MINUTE


def test_flood_repeat_makes_one_alert(service: Service) -> None:
    set_clinic(service, alert_email="alerts@clinic.example")
    patient = make_patient(service)
    made = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "check-in"},
        headers=service.headers(Role.front_desk),
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    answers = [service.client.post(f"/api/p/{token}/check-in", json=EMERGENCY) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1
    assert [m.kind for m in alerts(service)] == ["clinic-alert"]


def test_refused_check_in_writes_no_alert(service: Service) -> None:
    set_clinic(service, alert_email="alerts@clinic.example")
    patient = make_patient(service)
    refused = service.client.post(
        f"/api/patients/{patient}/check-ins",
        json={**EMERGENCY, "session_id": 999_999},
        headers=service.headers(Role.front_desk),
    )
    assert refused.status_code == 422, refused.text
    assert alerts(service) == []


def test_an_alert_that_cannot_be_written_takes_its_check_in_with_it(service: Service) -> None:
    """The alert is written in the check-in's transaction: when the alert's insert fails
    (here its key is already taken), the check-in it was for is not stored either."""
    set_clinic(service, alert_email="alerts@clinic.example")
    patient = make_patient(service)
    with service.runtime.db.write() as tx:
        last = tx.scalar(select(func.max(CheckIn.id))) or 0
        tx.add(
            OutboundMessage(
                clinic_id=service.clinic_id,
                kind="clinic-alert",
                channel="email",
                language="en",
                due_at=datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
                idempotency_key=f"alert:{last + 1}:0",
            )
        )
    actor = service.actor(Role.front_desk)
    with contextlib.suppress(Exception):  # SQLite reuses the id and fails; PG moves on
        record_check_in(service.runtime, actor, patient, EMERGENCY)
    with service.runtime.db.read() as tx:
        assert tx.get(CheckIn, last + 1) is None  # rolled back with its alert
        urgent = tx.scalars(select(CheckIn.id).where(CheckIn.disposition == "emergency")).all()
        keys = set(tx.scalars(select(OutboundMessage.idempotency_key)).all())
    for cid in urgent:  # whatever was stored has its own alert
        assert f"alert:{cid}:0" in keys


def test_spanish_free_text_after_chest_needling_alerts_the_clinic(service: Service) -> None:
    set_clinic(service, alert_email="alerts@clinic.example")
    patient = make_patient(service, language="es")
    response = service.client.post(
        f"/api/patients/{patient}/check-ins",
        json={
            "text": "me falta el aire y me duele el pecho",
            "language": "es",
            "treated_regions": ["region.chest"],
            "hours_since_treatment": 4.0,
        },
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["disposition"] == "emergency"
    (first,) = alerts(service, out["id"])
    assert first.params == {"disposition": "emergency", "repeat": 0}
