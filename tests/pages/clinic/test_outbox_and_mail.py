"""The outbox page (staff send these themselves) and the admin's mail page."""

from __future__ import annotations

from pathlib import Path

from needlewise.security.roles import Role
from support.audit import last_id
from support.outbound import add_message, add_patient, message
from support.pages import sign_in, visible_text
from support.service import Service


def test_the_outbox_lists_due_messages_and_marks_them_handled(service: Service) -> None:
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id, language="es")
    due = add_message(
        runtime,
        service.clinic_id,
        patient_id,
        link_id,
        channel="outbox",
        language="es",
        params={"thoracic": True},
    )
    emailed = add_message(runtime, service.clinic_id, patient_id, link_id)  # not outbox
    csrf = sign_in(service.client, service.users[Role.front_desk].email)
    page = service.client.get("/app/outbox")
    assert page.status_code == 200
    text = visible_text(page)
    assert "Zelda Synthetic" in text
    assert "555-0199" in text
    assert "/check-in" in text  # the Spanish text to send, 911 first
    assert "911" in text
    assert f"/app/outbox/{emailed}/handled" not in page.text
    before = last_id(service)
    answer = service.client.post(f"/app/outbox/{due}/handled", data={"csrf_token": csrf})
    assert answer.status_code == 303
    row = message(runtime, due)
    assert row.state == "handled"
    assert row.handled_by == service.users[Role.front_desk].id
    assert last_id(service) > before  # audited
    assert "Nothing to send now" in visible_text(service.client.get("/app/outbox"))
    # the same click twice changes nothing; another clinic's or an email row: 404
    assert (
        service.client.post(f"/app/outbox/{due}/handled", data={"csrf_token": csrf}).status_code
        == 303
    )
    assert (
        service.client.post(f"/app/outbox/{emailed}/handled", data={"csrf_token": csrf}).status_code
        == 404
    )


def test_a_message_cancelled_meanwhile_is_not_marked_handled(
    service: Service,
) -> None:
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id)
    answered = add_message(runtime, service.clinic_id, patient_id, link_id, channel="outbox",
                           state="cancelled", cancel_reason="answered")  # fmt: skip
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    before = last_id(service)
    answer = service.client.post(f"/app/outbox/{answered}/handled", data={"csrf_token": csrf})
    assert answer.status_code == 409
    assert message(runtime, answered).state == "cancelled"
    assert last_id(service) == before  # a conflict, not a refusal: nothing recorded


def test_the_mail_page_is_for_admins_and_names_no_patient(service: Service, tmp_path: Path) -> None:
    runtime = service.runtime
    patient_id, link_id = add_patient(runtime, service.clinic_id)
    add_message(
        runtime,
        service.clinic_id,
        patient_id,
        link_id,
        state="failed",
        attempts=1,
        last_error="permanent: SMTP 550 recipient refused (attempt 1)",
    )
    add_message(
        runtime,
        service.clinic_id,
        patient_id,
        kind="clinic-alert",
        recipient="alerts@clinic.example",
        params={"disposition": "emergency"},
    )
    sign_in(service.client, service.users[Role.front_desk].email)
    assert service.client.get("/app/admin/mail").status_code == 403
    sign_in(service.client, service.users[Role.admin].email)
    page = service.client.get("/app/admin/mail")
    assert page.status_code == 200
    text = visible_text(page)
    assert "Zelda" not in text
    assert "pat@example.org" not in text
    assert "SMTP 550" in text
    assert "Clinic alert" in text
    assert "Failed" in text
    assert "mail catcher" not in text  # no catcher folder set
