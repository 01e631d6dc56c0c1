"""Scheduled check-ins written with the session (services/aftercare_schedule.py), on both
databases: the rows, their keys and channel; nothing for a refused session, an opted-out
patient or a session recorded long after the fact; re-planned when the muscles change;
due reminders cancelled when the patient answers; the opt-out by staff and by the
patient's own link page (en/es, CSRF-guarded, audited)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from needlewise.jobs.port import QueueJobs
from needlewise.persistence.models import AuditEntry, Clinic, OutboundMessage, PatientLink
from needlewise.security.roles import Role
from support.service import Service
from support.treatment import add_consent, add_screening, make_provider

H2, H24, H48, H72, INFECTION = (
    "aftercare.check-in-2h",
    "aftercare.check-in-24h",
    "aftercare.check-in-48h-chest",
    "aftercare.check-in-72h",
    "aftercare.check-in-infection",
)
NEAR = ["upper-trapezius"]
FAR = ["gastrocnemius"]


def no_quiet_hours(service: Service) -> None:
    """The clinic sends at any hour, so the tests can do exact arithmetic on any clock."""
    with service.runtime.db.write() as tx:
        clinic = tx.get(Clinic, service.clinic_id)
        assert clinic is not None
        clinic.quiet_hours_start = clinic.quiet_hours_end = "00:00"


def patient(service: Service, email: str | None = None, language: str = "en") -> int:
    body: dict[str, Any] = {
        "given_name": "Alice",
        "family_name": "Synthetic",
        "preferred_language": language,
    }
    if email:
        body["email"] = email
    response = service.client.post(
        "/api/patients", json=body, headers=service.headers(Role.front_desk)
    )
    assert response.status_code == 201, response.text
    patient_id: int = response.json()["id"]
    add_screening(service, patient_id)
    add_consent(service, patient_id)
    return patient_id


def record(
    service: Service, patient_id: int, muscles: list[str], hours_ago: float = 0.5
) -> dict[str, Any]:
    body = {
        "provider_id": make_provider(service),
        "performed_at": (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(),
        "muscles": [{"muscle": m, "laterality": "left", "needle_count": 1} for m in muscles],
        "electrical_stimulation": False,
    }
    response = service.client.post(
        f"/api/patients/{patient_id}/sessions", json=body, headers=service.headers(Role.clinician)
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def rows(service: Service, **where: Any) -> list[OutboundMessage]:
    with service.runtime.db.read() as tx:
        query = select(OutboundMessage).order_by(OutboundMessage.due_at, OutboundMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboundMessage, key) == value)
        found = list(tx.scalars(query))
        tx.expunge_all()
        return found


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_recording_a_session_schedules_its_check_ins(service: Service) -> None:
    no_quiet_hours(service)
    alice = patient(service, email="alice@example.org", language="es")
    jobs = service.runtime.jobs  # the app's port: the worker's queue (a temporary file)
    assert isinstance(jobs, QueueJobs)
    session = record(service, alice, NEAR)
    plan = session["check_in_schedule"]
    assert plan["status"] == "scheduled"
    assert plan["near_lung"] is True
    invitations = [m for m in plan["messages"] if m["kind"] == "check-in"]
    assert [m["rule"] for m in invitations] == [H2, H24, H48, H72, INFECTION]
    performed = parse(session["performed_at"])
    for message in invitations:
        hours = {H2: 2, H24: 24, H48: 48, H72: 72, INFECTION: 168}[message["rule"]]
        assert parse(message["due_at"]) == performed + timedelta(hours=hours)
        assert message["thoracic"] is (message["rule"] in (H2, H24, H48))
        assert message["reasons"], message
    stored = rows(service, session_id=session["id"])
    assert len(stored) == 10
    keys = {m.idempotency_key for m in stored}
    assert len(keys) == 10
    by_id = {m.id: m for m in stored}
    for message in stored:
        assert (message.channel, message.language, message.state) == ("email", "es", "scheduled")
        assert message.recipient is None  # the worker reads the patient's current address
        assert set(message.params) == {"rule", "hours_after", "thoracic"}
        if message.kind == "check-in":
            assert message.idempotency_key == f"checkin:{session['id']}:{message.rule}"
        else:
            parent = by_id[message.parent_id or 0]
            assert message.idempotency_key == f"reminder:{parent.id}"
            assert message.due_at == parent.due_at + timedelta(hours=4)
    assert len({m.link_id for m in stored}) == 1
    with service.runtime.db.read() as tx:
        link = tx.get(PatientLink, stored[0].link_id)
        assert link is not None
        assert (link.purpose, link.session_id, link.used_at) == ("check-in", session["id"], None)
        assert link.expires_at >= max(m.due_at for m in stored) + timedelta(hours=72)
    # the worker was woken for the earliest message: a check_due task with its eta
    earliest = min(m.due_at for m in stored).astimezone(UTC).replace(tzinfo=None)
    huey = jobs.worker().huey
    etas = [task.eta for task in [*huey.pending(), *huey.scheduled()]]
    assert earliest in etas


def test_without_email_the_clinic_sends_them_itself(service: Service) -> None:
    bob = patient(service)
    session = record(service, bob, FAR)
    stored = rows(service, session_id=session["id"])
    assert {m.channel for m in stored} == {"outbox"}
    assert H48 not in {m.rule for m in stored}  # nothing near the lung
    skipped = session["check_in_schedule"]["skipped"]
    assert {"rule": H48, "reason": "nothing near the lung was needled"} in skipped


def test_a_refused_session_writes_no_messages(service: Service) -> None:
    response = service.client.post(
        "/api/patients",
        json={"given_name": "No", "family_name": "Consent"},
        headers=service.headers(Role.front_desk),
    )
    carol = response.json()["id"]
    add_screening(service, carol)  # no consent: the session is refused
    body = {
        "provider_id": make_provider(service),
        "performed_at": datetime.now(UTC).isoformat(),
        "muscles": [{"muscle": "upper-trapezius", "laterality": "left", "needle_count": 1}],
        "electrical_stimulation": False,
    }
    refused = service.client.post(
        f"/api/patients/{carol}/sessions", json=body, headers=service.headers(Role.clinician)
    )
    assert refused.status_code == 422, refused.text
    assert rows(service, patient_id=carol) == []
    with service.runtime.db.read() as tx:
        links = tx.scalars(select(PatientLink).where(PatientLink.patient_id == carol)).all()
        assert list(links) == []


def test_a_session_recorded_long_after_gets_only_later_check_ins(service: Service) -> None:
    no_quiet_hours(service)
    dave = patient(service)
    late = record(service, dave, NEAR, hours_ago=100)  # 4 days after: only the week check
    plan = late["check_in_schedule"]
    assert [m["rule"] for m in plan["messages"] if m["kind"] == "check-in"] == [INFECTION]
    assert [s["rule"] for s in plan["skipped"]] == [H2, H24, H48, H72]
    much_later = record(service, dave, NEAR, hours_ago=24 * 10)
    assert much_later["check_in_schedule"]["status"] == "nothing-due"
    assert rows(service, session_id=much_later["id"]) == []


def test_an_opted_out_patient_gets_nothing_and_the_answer_says_so(service: Service) -> None:
    erin = patient(service, email="erin@example.org")
    clinician = service.headers(Role.clinician)
    first = record(service, erin, NEAR)
    assert len(rows(service, session_id=first["id"], state="scheduled")) == 10
    opted = service.client.post(f"/api/patients/{erin}/check-in-opt-out", headers=clinician)
    assert opted.status_code == 200, opted.text
    body = opted.json()
    assert (body["opted_out"], body["cancelled"]) == (True, 10)
    assert body["opted_out_by"] == f"user:{service.users[Role.clinician].id}"
    cancelled = rows(service, session_id=first["id"])
    assert {(m.state, m.cancel_reason) for m in cancelled} == {("cancelled", "opted-out")}
    second = record(service, erin, NEAR)
    assert second["check_in_schedule"] == {
        "status": "opted-out",
        "near_lung": None,
        "near_lung_reasons": [],
        "messages": [],
        "skipped": [],
    }
    assert rows(service, session_id=second["id"]) == []
    cleared = service.client.delete(f"/api/patients/{erin}/check-in-opt-out", headers=clinician)
    assert cleared.json()["opted_out"] is False
    third = record(service, erin, NEAR)
    assert third["check_in_schedule"]["status"] == "scheduled"
    with service.runtime.db.read() as tx:
        actions = tx.scalars(
            select(AuditEntry.action).where(
                AuditEntry.patient_id == erin, AuditEntry.resource_type == "check-ins"
            )
        ).all()
    assert list(actions) == ["opt-out", "opt-in"]
    other = service.client.post("/api/patients/999999/check-in-opt-out", headers=clinician)
    assert other.status_code == 404


def test_answering_cancels_only_the_reminders_already_due(service: Service) -> None:
    no_quiet_hours(service)
    fay = patient(service)
    session = record(service, fay, NEAR, hours_ago=3)  # the 2 h invitation is due
    stored = rows(service, session_id=session["id"])
    token = service.runtime.signer.sign(stored[0].link_id or 0, "check-in")
    answered = service.client.post(f"/api/p/{token}/check-in", json={"symptoms": []})
    assert answered.status_code in (200, 201), answered.text
    after = {(m.kind, m.rule): m for m in rows(service, session_id=session["id"])}
    assert after[("check-in-reminder", H2)].state == "cancelled"
    assert after[("check-in-reminder", H2)].cancel_reason == "answered"
    for rule in (H24, H48, H72, INFECTION):
        assert after[("check-in", rule)].state == "scheduled"
        assert after[("check-in-reminder", rule)].state == "scheduled"


def test_changing_the_muscles_re_plans_what_is_not_sent(service: Service) -> None:
    no_quiet_hours(service)
    gus = patient(service)
    session = record(service, gus, FAR)
    assert H48 not in {m.rule for m in rows(service, session_id=session["id"])}
    clinician = service.headers(Role.clinician)
    etag = service.client.get(f"/api/sessions/{session['id']}", headers=clinician).headers["etag"]
    changed = service.client.patch(
        f"/api/sessions/{session['id']}",
        json={"muscles": [{"muscle": "rhomboids", "laterality": "right", "needle_count": 2}]},
        headers={**clinician, "if-match": etag},
    )
    assert changed.status_code == 200, changed.text
    plan = changed.json()["check_in_schedule"]
    assert H48 in [m["rule"] for m in plan["messages"]]
    every = rows(service, session_id=session["id"])
    old = [m for m in every if m.state == "cancelled"]
    new = [m for m in every if m.state == "scheduled"]
    assert len(old) == 8
    assert {m.cancel_reason for m in old} == {"session-changed"}
    assert len(new) == 10
    version = changed.json()["version"]
    assert {m.idempotency_key for m in new if m.kind == "check-in"} == {
        f"checkin:{session['id']}:{rule}:v{version}" for rule in (H2, H24, H48, H72, INFECTION)
    }
    assert len({m.link_id for m in every}) == 1  # the same link, still valid
    listed = service.client.get(
        f"/api/sessions/{session['id']}/check-in-schedule", headers=clinician
    )
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["messages"]) == 18
    notes_only = service.client.patch(
        f"/api/sessions/{session['id']}",
        json={"notes": "fine"},
        headers={**clinician, "if-match": changed.headers["etag"]},
    )
    assert notes_only.json()["check_in_schedule"] is None
    assert len(rows(service, session_id=session["id"])) == 18  # notes change nothing


def stop_page(service: Service, token: str, language: str) -> str:
    page = service.client.get(f"/p/{token}/stop?lang={language}")
    assert page.status_code == 200, page.text
    return page.text


def test_the_patient_stops_the_messages_from_their_link(service: Service) -> None:
    hana = patient(service, email="hana@example.org", language="es")
    session = record(service, hana, NEAR)
    stored = rows(service, session_id=session["id"])
    link_id = stored[0].link_id or 0
    token = service.runtime.signer.sign(link_id, "check-in")
    english = stop_page(service, token, "en")
    assert "Stop my check-in messages" in english
    spanish = stop_page(service, token, "es")
    assert "Dejar de recibir mis mensajes de control" in spanish
    form_token = re.search(r'name="form_token" value="([^"]+)"', spanish)
    assert form_token is not None
    refused = service.client.post(f"/p/{token}/stop", data={"form_token": "wrong" * 8})
    assert refused.status_code == 403
    assert {m.state for m in rows(service, session_id=session["id"])} == {"scheduled"}
    done = service.client.post(f"/p/{token}/stop", data={"form_token": form_token.group(1)})
    assert done.status_code == 200, done.text
    assert "Su clínica no le enviará más mensajes de control" in done.text
    assert {(m.state, m.cancel_reason) for m in rows(service, session_id=session["id"])} == {
        ("cancelled", "opted-out")
    }
    with service.runtime.db.read() as tx:
        entry = tx.scalars(
            select(AuditEntry).where(AuditEntry.action == "opt-out", AuditEntry.patient_id == hana)
        ).one()
        assert entry.actor == f"link:{link_id}"
    again = stop_page(service, token, "en")
    assert "You already asked us to stop" in again
    assert "Ask your clinic" in again
    intake = service.runtime.signer.sign(link_id, "intake")
    assert service.client.get(f"/p/{intake}/stop").status_code == 404
