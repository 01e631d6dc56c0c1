"""The whole aftercare loop, as the issue's "done when" describes it, through the real
API, pages, delivery and a real SMTP server on loopback:

a session is recorded → its check-ins are scheduled → the due one is emailed in the
patient's language → the patient answers in Spanish free text through the emailed link →
the answer is an emergency, the patient is told to call 911 first → the clinic's alert
address gets an alert → unacknowledged, the alert is sent again → a clinician
acknowledges → no more repeats. Clocks are injected; nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import Tag

from needlewise.jobs.smtp import SmtpSender
from needlewise.security.roles import Role
from needlewise.services import delivery, escalation
from support.pages import hidden_value, soup, visible_text
from support.service import Service
from support.smtp import SmtpServer, smtp_server
from support.treatment import add_consent, add_screening, make_provider

ALERTS = "alerts@clinic.example"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def _set_up_clinic(service: Service) -> None:
    headers = service.headers(Role.admin)
    current = service.client.get("/api/clinic", headers=headers)
    body = {
        "name": current.json()["name"],
        "phones": ["555-0100"],
        "languages": ["en", "es"],
        "time_zone": "America/Chicago",
        "alert_email": ALERTS,
    }
    done = service.client.put(
        "/api/clinic", json=body, headers={**headers, "If-Match": current.headers["etag"]}
    )
    assert done.status_code == 200, done.text


def test_a_session_to_an_acknowledged_emergency(service: Service, smtp: SmtpServer) -> None:
    runtime = service.runtime
    _set_up_clinic(service)
    sender = SmtpSender(
        runtime.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port})
    )
    made = service.client.post(
        "/api/patients",
        json={"given_name": "Lucía", "family_name": "Synthetic", "preferred_language": "es",
              "email": "lucia@patients.example"},
        headers=service.headers(Role.front_desk),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    patient_id = made.json()["id"]
    add_screening(service, patient_id, "eligible")
    add_consent(service, patient_id)
    provider_id = make_provider(service)
    # needled near the chest wall two and a half hours ago (entered after the fact)
    performed = datetime.now(UTC) - timedelta(hours=2, minutes=30)
    session = service.client.post(
        f"/api/patients/{patient_id}/sessions",
        json={"provider_id": provider_id, "performed_at": performed.isoformat(),
              "muscles": [{"muscle": "rhomboids", "laterality": "right", "needle_count": 2}],
              "electrical_stimulation": False, "pain_before": 6, "pain_after": 3},
        headers=service.headers(Role.clinician),
    )  # fmt: skip
    assert session.status_code == 201, session.text
    schedule = session.json()["check_in_schedule"]
    planned = {item["rule"] for item in schedule["messages"]}
    assert "aftercare.check-in-48h-chest" in planned  # the chest safety net
    now = datetime.now(UTC)
    # the worker's sweep: the 2-hour check-in is due at once
    assert delivery.deliver_due(runtime, sender, now) == {"sent": 1}
    [invitation] = smtp.received
    assert invitation.recipient == "lucia@patients.example"
    assert "Lucía" not in invitation.subject
    assert "911" in invitation.body  # chest-wall check-ins name the warning signs first
    link = re.search(r"https?://\S+?/p/(\S+?)/check-in", invitation.body)
    assert link is not None, invitation.body
    token = link.group(1)

    # the patient answers in Spanish free text through the emailed link
    page = service.client.get(f"/p/{token}/check-in")
    assert page.status_code == 200
    answered = service.client.post(
        f"/p/{token}/check-in",
        data={"form_token": hidden_value(page, "form_token"),
              "details": "me falta el aire y me duele el pecho"},
    )  # fmt: skip
    assert answered.status_code == 200, visible_text(answered)[:300]
    main = soup(answered).find("main")
    assert isinstance(main, Tag)
    first = main.find("a")
    assert isinstance(first, Tag)
    assert first["href"] == "tel:911"  # what to do themselves comes first
    listed = service.client.get(
        f"/api/check-ins?patient_id={patient_id}", headers=service.headers(Role.clinician)
    ).json()
    [check_in] = listed["items"]
    assert check_in["disposition"] == "emergency"

    # the clinic is alerted at once, then again while nobody acknowledges
    now = datetime.now(UTC)
    assert delivery.deliver_due(runtime, sender, now) == {"sent": 1}
    alert = smtp.received[-1]
    assert alert.recipient == ALERTS
    assert "Lucía" not in alert.body
    assert "Synthetic" not in alert.body
    minutes = runtime.settings.alert_repeat_minutes_emergency
    assert escalation.repeat_due_alerts(runtime, now + timedelta(minutes=minutes - 1)) == 0
    assert escalation.repeat_due_alerts(runtime, now + timedelta(minutes=minutes + 1)) == 1
    later = now + timedelta(minutes=minutes + 1)
    assert delivery.deliver_due(runtime, sender, later) == {"sent": 1}
    assert smtp.received[-1].recipient == ALERTS
    assert smtp.received[-1].message_id != alert.message_id

    # a clinician acknowledges: no more repeats
    one = service.client.get(
        f"/api/check-ins/{check_in['id']}", headers=service.headers(Role.clinician)
    )
    acknowledged = service.client.post(
        f"/api/check-ins/{check_in['id']}/acknowledge",
        headers={**service.headers(Role.clinician), "If-Match": one.headers["etag"]},
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert escalation.repeat_due_alerts(runtime, now + timedelta(hours=5)) == 0
    assert delivery.deliver_due(runtime, sender, now + timedelta(hours=1)) == {}
    # three emails in all: the invitation, the alert and one repeat; the patient's
    # answer cancelled the invitation's reminder
    assert len(smtp.received) == 3
