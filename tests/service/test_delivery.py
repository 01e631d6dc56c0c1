"""services/delivery.py against a real SMTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from needlewise.jobs.smtp import SmtpSender
from needlewise.services import delivery
from needlewise.services.runtime import Runtime
from support.outbound import T0, add_message, add_patient, message
from support.service import Service
from support.smtp import SmtpServer, free_port, smtp_server

NOW = T0 + timedelta(hours=1)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def sender_for(runtime: Runtime, port: int) -> SmtpSender:
    return SmtpSender(
        runtime.settings.model_copy(update={"smtp_port": port, "smtp_host": "127.0.0.1"})
    )


def test_a_due_check_in_is_sent_once_with_its_message_id(
    service: Service, smtp: SmtpServer
) -> None:
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id)
    message_id = add_message(
        runtime,
        service.clinic_id,
        patient_id,
        link_id,
        idempotency_key="checkin:1:aftercare.check-in-24h",
    )
    sender = sender_for(runtime, smtp.port)
    assert delivery.deliver(runtime, message_id, sender, NOW) == "sent"
    assert delivery.deliver(runtime, message_id, sender, NOW) == "skipped"
    assert delivery.deliver_due(runtime, sender, NOW + timedelta(days=9)) == {}
    [got] = smtp.received
    assert got.message_id == "<checkin%3A1%3Aaftercare.check-in-24h@needlewise>"
    assert got.recipient == "pat@example.org"
    assert "Zelda" not in got.subject
    assert "Synthetic" not in got.subject
    assert "/p/" in got.body
    assert "/check-in" in got.body
    assert "/stop" in got.body
    row = message(runtime, message_id)
    assert (row.state, row.attempts, row.sent_at) == ("sent", 1, NOW)


def test_not_due_outbox_cancelled_and_opted_out_rows_are_never_emailed(
    service: Service, smtp: SmtpServer
) -> None:
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id)
    later = add_message(
        runtime, service.clinic_id, patient_id, link_id, due_at=NOW + timedelta(minutes=1)
    )
    outbox = add_message(runtime, service.clinic_id, patient_id, link_id, channel="outbox")
    cancelled = add_message(
        runtime, service.clinic_id, patient_id, link_id, state="cancelled", cancel_reason="answered"
    )
    sender = sender_for(runtime, smtp.port)
    for message_id in (later, outbox, cancelled):
        assert delivery.deliver(runtime, message_id, sender, NOW) == "skipped"
    assert delivery.due_message_ids(runtime, NOW) == []
    opted_out, link2 = add_patient(runtime, service.clinic_id)
    stopped = add_message(runtime, service.clinic_id, opted_out, link2)
    with runtime.db.write() as session:
        from needlewise.persistence.models.clinical import Patient

        patient = session.get(Patient, opted_out)
        assert patient is not None
        patient.check_ins_opted_out_at = T0
    no_email, link3 = add_patient(runtime, service.clinic_id, email=None)
    nowhere = add_message(runtime, service.clinic_id, no_email, link3)
    assert delivery.deliver_due(runtime, sender, NOW) == {"cancelled": 2}
    assert (message(runtime, stopped).state, message(runtime, stopped).cancel_reason) == (
        "cancelled",
        "opted-out",
    )
    assert message(runtime, nowhere).cancel_reason == "no-contact"
    assert message(runtime, outbox).state == "scheduled"
    assert smtp.received == []


def test_a_temporary_refusal_retries_later_and_a_permanent_one_fails(
    service: Service, smtp: SmtpServer
) -> None:
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id)
    message_id = add_message(runtime, service.clinic_id, patient_id, link_id)
    sender = sender_for(runtime, smtp.port)
    smtp.set_hooks(on_data=lambda n: "451 4.3.0 try later" if n == 1 else None)
    assert delivery.deliver(runtime, message_id, sender, NOW) == "retry"
    row = message(runtime, message_id)
    assert (row.state, row.attempts, row.due_at) == ("scheduled", 1, NOW + delivery.FIRST_BACKOFF)
    assert row.last_error is not None
    assert "451" in row.last_error
    assert "pat@example.org" not in row.last_error
    assert delivery.deliver(runtime, message_id, sender, NOW) == "skipped"  # not due yet
    assert delivery.deliver(runtime, message_id, sender, row.due_at) == "sent"
    assert len(smtp.received) == 1

    refused = add_message(runtime, service.clinic_id, patient_id, link_id)
    smtp.set_hooks(on_data=lambda n: "550 5.1.1 no such user")
    assert delivery.deliver(runtime, refused, sender, NOW) == "failed"
    row = message(runtime, refused)
    assert row.state == "failed"
    assert row.last_error is not None
    assert "550" in row.last_error


def test_an_unreachable_server_retries_until_it_gives_up(service: Service) -> None:
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id)
    message_id = add_message(runtime, service.clinic_id, patient_id, link_id)
    sender = sender_for(runtime, free_port())  # nobody listens there
    moment = NOW
    for attempt in range(1, delivery.MAX_ATTEMPTS):
        assert delivery.deliver(runtime, message_id, sender, moment) == "retry"
        row = message(runtime, message_id)
        assert row.attempts == attempt
        assert "cannot reach" in (row.last_error or "")
        moment = row.due_at
    assert delivery.deliver(runtime, message_id, sender, moment) == "failed"
    assert delivery.backoff(1) == timedelta(minutes=1)
    assert delivery.backoff(30) == delivery.MAX_BACKOFF


def test_a_crash_after_acceptance_resends_with_the_same_message_id(
    service: Service, smtp: SmtpServer
) -> None:
    """The one window: the server took the email, the record did not commit."""
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id)
    message_id = add_message(runtime, service.clinic_id, patient_id, link_id)
    sender = sender_for(runtime, smtp.port)

    def crash() -> None:
        raise SystemExit("killed between acceptance and commit")

    with pytest.raises(SystemExit):
        delivery.deliver(runtime, message_id, sender, NOW, after_send=crash)
    assert message(runtime, message_id).state == "sending"
    assert delivery.due_message_ids(runtime, NOW) == []  # the claim is still fresh
    stale = NOW + timedelta(seconds=runtime.settings.worker_claim_timeout_seconds + 1)
    assert delivery.deliver_due(runtime, sender, stale) == {"sent": 1}
    first, second = smtp.received
    assert first.message_id == second.message_id
    row = message(runtime, message_id)
    assert (row.state, row.attempts) == ("sent", 2)


def test_a_clinic_alert_names_no_patient(service: Service, smtp: SmtpServer) -> None:
    runtime = service.runtime
    patient_id, _ = add_patient(runtime, service.clinic_id)
    alert = add_message(
        runtime,
        service.clinic_id,
        patient_id,
        kind="clinic-alert",
        recipient="alerts@clinic.example",
        params={"disposition": "emergency", "repeat": 0},
    )
    again = add_message(
        runtime,
        service.clinic_id,
        patient_id,
        kind="clinic-realert",
        recipient="alerts@clinic.example",
        language="es",
        params={"disposition": "call-provider", "repeat": 2},
    )
    sender = sender_for(runtime, smtp.port)
    assert delivery.deliver_due(runtime, sender, NOW) == {"sent": 2}
    by_id = {item.message_id: item for item in smtp.received}
    first = by_id[delivery.message_id_of(message(runtime, alert).idempotency_key)]
    repeat = by_id[delivery.message_id_of(message(runtime, again).idempotency_key)]
    for item in (first, repeat):
        assert item.recipient == "alerts@clinic.example"
        for private in ("Zelda", "Synthetic", "pat@example.org", "555-0199"):
            assert private not in item.body
            assert private not in item.subject
        assert "/app" in item.body
    assert "emergency" in first.body
    assert "aviso 3" in repeat.body
