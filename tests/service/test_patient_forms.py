"""The patient's intake and consent forms through their links, on both databases: the
intake is screened and stored as ``link:ID`` without showing the decision, a consent is
signed and its copy returned, each link works once and only for its own patient and
purpose, and every link action is audited with the link actor and the patient."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from needlewise.persistence.db import utcnow
from needlewise.persistence.models import AuditEntry, Consent, PatientLink, Screening
from needlewise.security.roles import Role
from support.service import Service
from support.treatment import intake, signature_png

#: a real 1x1 grey PNG
SIGNATURE = signature_png(1, 1)


def years_ago(years: int) -> str:
    return date(date.today().year - years, 1, 1).isoformat()


def new_patient(service: Service, language: str = "en", birth_date: str | None = None) -> int:
    body: dict[str, Any] = {
        "given_name": "Lin",
        "family_name": "Synthetic",
        "preferred_language": language,
    }
    if birth_date is not None:
        body["birth_date"] = birth_date
    response = service.client.post(
        "/api/patients", json=body, headers=service.headers(Role.front_desk)
    )
    assert response.status_code == 201, response.text
    patient_id: int = response.json()["id"]
    return patient_id


def new_link(service: Service, patient_id: int, purpose: str) -> dict[str, Any]:
    response = service.client.post(
        f"/api/patients/{patient_id}/links",
        json={"purpose": purpose},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def link_signing(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "language": "es",
        "typed_name": "Lin Synthetic",
        "signature_png": base64.b64encode(SIGNATURE).decode(),
        "signer_name": "Lin Synthetic",
    }
    body.update(changes)
    return body


def audit_rows(service: Service, patient_id: int) -> list[tuple[str, str, str]]:
    with service.runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.patient_id == patient_id).order_by(AuditEntry.id)
        )
        return [(r.actor, r.action, r.resource_type) for r in rows]


def count(service: Service, table: type[Screening] | type[Consent], patient_id: int) -> int:
    with service.runtime.db.read() as session:
        return (
            session.scalar(
                select(func.count()).select_from(table).where(table.patient_id == patient_id)
            )
            or 0
        )


def test_intake_through_a_link(service: Service) -> None:
    kb = service.runtime.kb
    patient = new_patient(service, language="es", birth_date=years_ago(12))
    link = new_link(service, patient, "intake")
    token = link["token"]

    form = service.client.get(f"/api/p/{token}/intake-questionnaire")
    assert form.status_code == 200
    questionnaire = form.json()
    assert questionnaire["resourceType"] == "Questionnaire"
    assert questionnaire["language"] == "es"
    assert len(questionnaire["item"]) == len(kb.contraindications)

    sent = service.client.post(f"/api/p/{token}/intake", json=intake(kb))
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"received": True}  # never the decision

    again = service.client.post(f"/api/p/{token}/intake", json=intake(kb))
    assert again.status_code == 410
    assert service.client.get(f"/api/p/{token}/intake-questionnaire").status_code == 410
    assert count(service, Screening, patient) == 1

    listing = service.client.get(
        f"/api/screenings?patient_id={patient}", headers=service.headers(Role.clinician)
    ).json()
    stored = listing["items"][0]
    assert stored["created_by"] == f"link:{link['id']}"
    assert stored["decision"] == "review"  # 12 years old: the recorded birth date was used
    assert "contraindication.child" in {f["rule"] for f in stored["result"]["findings"]}
    assert stored["result"]["language"] == "es"

    with service.runtime.db.read() as session:
        row = session.get(PatientLink, link["id"])
        assert row is not None
        assert row.used_at is not None
    ref = f"link:{link['id']}"
    assert [r for r in audit_rows(service, patient) if r[0] == ref] == [
        (ref, "read", "intake-questionnaire"),
        (ref, "use", "patient-link"),
        (ref, "create", "screening"),
    ]


def test_bad_intake_changes_nothing_and_leaves_the_link_usable(service: Service) -> None:
    kb = service.runtime.kb
    patient = new_patient(service)
    token = new_link(service, patient, "intake")["token"]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    refused = service.client.post(f"/api/p/{token}/intake", json=bundle)
    assert refused.status_code == 422
    assert refused.json()["error"]["location"] == "$.resourceType"
    broken = intake(kb)
    broken["item"][0]["answer"] = [{"valueString": "perhaps"}]
    answer = service.client.post(f"/api/p/{token}/intake", json=broken)
    assert answer.status_code == 422
    assert answer.json()["error"]["location"].startswith("$.item[0]")
    malformed = service.client.post(
        f"/api/p/{token}/intake", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert count(service, Screening, patient) == 0
    assert service.client.post(f"/api/p/{token}/intake", json=intake(kb)).status_code == 201


def test_consent_through_a_link(service: Service) -> None:
    patient = new_patient(service, language="es")
    link = new_link(service, patient, "consent")
    token = link["token"]

    shown = service.client.get(f"/api/p/{token}/consent-text")
    assert shown.status_code == 200
    text = shown.json()
    assert text["language"] == "es"
    staff_text = service.client.get(
        "/api/consents/text?language=es", headers=service.headers(Role.front_desk)
    ).json()
    assert text == staff_text

    signed = service.client.post(
        f"/api/p/{token}/consent",
        json=link_signing(signer_role="guardian", text_sha256=text["sha256"]),
    )
    assert signed.status_code == 201, signed.text
    body = signed.json()
    assert body["signed"] is True
    assert body["copy_path"] == f"/api/consents/{body['consent_id']}/copy"
    assert body["copy_text"].startswith(text["text"].rstrip("\n"))
    assert "padre, madre o tutor" in body["copy_text"]

    assert service.client.post(f"/api/p/{token}/consent", json=link_signing()).status_code == 410
    assert service.client.get(f"/api/p/{token}/consent-text").status_code == 410
    assert count(service, Consent, patient) == 1

    detail = service.client.get(
        f"/api/consents/{body['consent_id']}", headers=service.headers(Role.clinician)
    ).json()
    assert detail["text"] == text["text"]
    assert detail["text_sha256"] == text["sha256"]
    assert detail["created_by"] == f"link:{link['id']}"
    assert detail["signer_role"] == "guardian"
    ref = f"link:{link['id']}"
    assert [r for r in audit_rows(service, patient) if r[0] == ref] == [
        (ref, "read", "consent-text"),
        (ref, "use", "patient-link"),
        (ref, "create", "consent"),
    ]


def test_link_signing_input_is_checked(service: Service) -> None:
    patient = new_patient(service)
    token = new_link(service, patient, "consent")["token"]
    for changes, location in [
        ({"signer_role": "representative"}, "$.signer_role"),
        ({"signature_png": "aGVsbG8="}, "$.signature_png"),
        ({"typed_name": ""}, "$.typed_name"),
    ]:
        response = service.client.post(f"/api/p/{token}/consent", json=link_signing(**changes))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["location"] == location
    changed = service.client.post(
        f"/api/p/{token}/consent", json=link_signing(text_sha256="f" * 64)
    )
    assert changed.status_code == 409
    assert count(service, Consent, patient) == 0
    assert service.client.post(f"/api/p/{token}/consent", json=link_signing()).status_code == 201


def test_a_link_opens_only_its_own_patient_and_purpose(service: Service) -> None:
    kb = service.runtime.kb
    alice = new_patient(service)
    bob = new_patient(service)
    intake_token = new_link(service, alice, "intake")["token"]
    consent_token = new_link(service, alice, "consent")["token"]

    # wrong purpose: an intake link is not a consent link, and the other way round
    assert service.client.get(f"/api/p/{intake_token}/consent-text").status_code == 404
    assert (
        service.client.post(f"/api/p/{intake_token}/consent", json=link_signing()).status_code
        == 404
    )
    assert service.client.post(f"/api/p/{consent_token}/intake", json=intake(kb)).status_code == 404
    # tampered or made-up tokens
    tampered = intake_token[:-2] + ("AA" if not intake_token.endswith("AA") else "BB")
    assert service.client.get(f"/api/p/{tampered}/intake-questionnaire").status_code == 404
    assert service.client.post(f"/api/p/{tampered}/intake", json=intake(kb)).status_code == 404
    forged = service.runtime.signer.sign(99999, "intake")
    assert service.client.post(f"/api/p/{forged}/intake", json=intake(kb)).status_code == 404
    # the token is not a staff credential, so no route that takes a patient id opens
    as_bearer = {"authorization": f"Bearer {intake_token}"}
    assert (
        service.client.get(f"/api/screenings?patient_id={bob}", headers=as_bearer).status_code
        == 401
    )
    assert service.client.get(f"/api/patients/{bob}", headers=as_bearer).status_code == 401
    assert (
        service.client.post(
            f"/api/patients/{bob}/screenings", json=intake(kb), headers=as_bearer
        ).status_code
        == 401
    )

    # what alice's link writes is alice's, whatever the document says about its subject
    document = intake(kb)
    document["subject"] = {"reference": f"Patient/{bob}"}
    assert service.client.post(f"/api/p/{intake_token}/intake", json=document).status_code == 201
    assert count(service, Screening, alice) == 1
    assert count(service, Screening, bob) == 0
    # bob's entries: staff's, and the refusals of the link token used as a bearer token
    # (anonymous: it is no credential), which name bob because the URL did (issue 9)
    assert all(r[0].startswith("user:") or r[0] == "anonymous" for r in audit_rows(service, bob))
    assert any(r[0] == "anonymous" for r in audit_rows(service, bob))


def test_expired_and_revoked_links_are_gone(service: Service) -> None:
    kb = service.runtime.kb
    patient = new_patient(service)
    expired = new_link(service, patient, "intake")
    with service.runtime.db.write() as session:
        row = session.get(PatientLink, expired["id"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
    token = expired["token"]
    assert service.client.get(f"/api/p/{token}/intake-questionnaire").status_code == 410
    assert service.client.post(f"/api/p/{token}/intake", json=intake(kb)).status_code == 410

    revoked = new_link(service, patient, "consent")
    response = service.client.post(
        f"/api/links/{revoked['id']}/revoke", headers=service.headers(Role.front_desk)
    )
    assert response.status_code == 200
    gone = service.client.post(f"/api/p/{revoked['token']}/consent", json=link_signing())
    assert gone.status_code == 410
    assert count(service, Screening, patient) == 0
    assert count(service, Consent, patient) == 0


def test_concurrent_submissions_use_a_link_once(service: Service) -> None:
    """Eight clients send the same intake at once: one is stored, the others get 410."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from support.http import ApiClient

    kb = service.runtime.kb
    patient = new_patient(service)
    token = new_link(service, patient, "intake")["token"]
    document = intake(kb)
    barrier = Barrier(8, timeout=30)  # a client that fails to start breaks it: no hang

    def submit(_: int) -> int:
        client = ApiClient(service.app)
        try:
            barrier.wait()
            return client.post(f"/api/p/{token}/intake", json=document).status_code
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(submit, range(8)))
    assert statuses == [201] + [410] * 7
    assert count(service, Screening, patient) == 1
