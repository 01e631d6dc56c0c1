"""The today list keeps itself current (issue 13, escalation): the queue fragment
(``/app/queue``) lists emergencies first with since when each waits and how many clinic
alerts went out; an unchanged queue answers 204 and audits nothing; a new urgent
check-in comes back with an announcement for the page's live region."""

from __future__ import annotations

from sqlalchemy import update

from needlewise.persistence.models import Clinic, OutboundMessage
from needlewise.security.roles import Role
from pages.clinic.helpers import add_check_in
from support.audit import entries_after, last_id
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import make_patient


def poll_url(page_html: str) -> str:
    """The address the page's queue section polls (its hx-get)."""
    from bs4 import BeautifulSoup

    section = BeautifulSoup(page_html, "html.parser").select_one("section#queue")
    assert section is not None
    assert section["hx-trigger"] == "every 12s"
    return str(section["hx-get"])


def test_the_fragment_lists_emergencies_first_with_their_alerts(service: Service) -> None:
    with service.runtime.db.write() as tx:
        tx.execute(
            update(Clinic).where(Clinic.id == service.clinic_id).values(alert_email="a@x.example")
        )
    patient = make_patient(service, "Ana")
    add_check_in(service, patient, "self-care")
    call = add_check_in(service, patient, "call-provider")
    emergency = add_check_in(service, patient, "emergency")
    add_check_in(service, patient, "self-care")
    with service.runtime.db.write() as tx:  # the worker sent the emergency's first alert
        tx.execute(
            update(OutboundMessage)
            .where(OutboundMessage.check_in_id == emergency)
            .values(state="sent")
        )
    sign_in(service.client, service.users[Role.clinician].email)
    fragment = service.client.get("/app/queue")
    assert fragment.status_code == 200
    rows = soup(fragment).select("ol.check-ins > li")
    kinds = [next(c for c in row["class"] if c != "check-in") for row in rows]
    assert kinds == ["emergency", "call-provider", "self-care", "self-care"]
    assert rows[0]["id"] == f"check-in-{emergency}"
    first = rows[0].get_text(" ", strip=True)
    assert "Waiting since" in first
    assert "Clinic alerts sent: 1" in first
    second = rows[1].get_text(" ", strip=True)
    assert rows[1]["id"] == f"check-in-{call}"
    assert "Clinic alerts sent: 0" in second
    assert "waiting to send: 1" in second
    assert "Clinic alerts" not in rows[2].get_text()  # self-care alerts no one
    assert rows[0].select_one("button#ack-" + str(emergency)) is not None


def test_an_unchanged_queue_is_204_and_a_new_emergency_is_announced(service: Service) -> None:
    patient = make_patient(service, "Ana")
    add_check_in(service, patient, "call-provider")
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get("/app")
    news = soup(page).select_one("#queue-news")
    assert news is not None
    assert news["role"] == "alert"
    assert news.get_text(strip=True) == ""
    url = poll_url(page.text)

    before = last_id(service)
    unchanged = service.client.get(url)
    assert unchanged.status_code == 204
    assert entries_after(service, before) == []  # nothing read, nothing audited

    emergency = add_check_in(service, make_patient(service, "Ben"), "emergency")
    changed = service.client.get(url)
    assert changed.status_code == 200
    html = soup(changed)
    rows = html.select("ol.check-ins > li")
    assert rows[0]["id"] == f"check-in-{emergency}"
    oob = html.select_one("#queue-news")
    assert oob is not None
    assert oob["hx-swap-oob"] == "innerHTML"
    assert "New emergency check-ins: 1" in oob.get_text()
    assert service.client.get(poll_url(changed.text)).status_code == 204

    # the next poll, from the new section: nothing new to announce
    add_check_in(service, patient, "self-care")
    later = service.client.get(poll_url(changed.text))
    assert later.status_code == 200
    assert soup(later).select_one("#queue-news") is None


def test_acknowledging_changes_the_queue(service: Service) -> None:
    patient = make_patient(service)
    check_in = add_check_in(service, patient, "emergency")
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    url = poll_url(service.client.get("/app").text)
    service.client.post(
        f"/app/check-ins/{check_in}/acknowledge", data={"csrf_token": csrf, "version": "1"}
    )
    after = service.client.get(url)
    assert after.status_code == 200
    assert not soup(after).select("ol.check-ins > li")
    assert "None waiting" in visible_text(after)


def test_the_fragment_in_spanish(service: Service) -> None:
    patient = make_patient(service)
    add_check_in(service, patient, "emergency")
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get("/app?lang=es")
    url = poll_url(page.text).replace("state=", "state=0")
    text = visible_text(service.client.get(url))
    assert "Esperando desde" in text
    assert "Avisos enviados a la clínica: 0" in text
    added = add_check_in(service, make_patient(service, "Eva"), "emergency")
    fresh = service.client.get(poll_url(page.text))
    assert f"check-in-{added}" in fresh.text
    assert "Nuevos seguimientos de emergencia: 1" in visible_text(fresh)


def test_a_poll_that_is_not_a_digest_is_refused(service: Service) -> None:
    sign_in(service.client, service.users[Role.clinician].email)
    assert service.client.get("/app/queue?state=<script>").status_code == 422
    assert service.client.get("/app/queue?after=-1").status_code == 422


def test_only_staff_who_read_check_ins_poll(service: Service) -> None:
    assert service.client.get("/app/queue").status_code in (303, 401)
