"""Informed consents through the API on both databases: the consent text (every risk with
a frequency, English and Spanish), staff-witnessed signing that stores exactly the text
served, the signature checks, reading with and without the signature, the patient's
copy, withdrawal with If-Match, audit entries, role checks and ``current_consent``.
The template's reading level is checked once, without a database."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import textstat
from sqlalchemy import func, select

from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import AuditEntry, Consent
from needlewise.security.roles import Role
from needlewise.services.consent_text import chosen_figure, render
from needlewise.services.consents import current_consent
from support.service import Service
from support.treatment import signature_png

SIGNATURE = signature_png()


def signing(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "language": "en",
        "typed_name": "Tess Synthetic",
        "signature_png": base64.b64encode(SIGNATURE).decode(),
        "signer_role": "patient",
        "signer_name": "Tess Synthetic",
    }
    body.update(changes)
    return body


def new_patient(service: Service, language: str = "en") -> int:
    response = service.client.post(
        "/api/patients",
        json={"given_name": "Tess", "family_name": "Synthetic", "preferred_language": language},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    patient_id: int = response.json()["id"]
    return patient_id


def sign(service: Service, patient_id: int, **changes: Any) -> dict[str, Any]:
    response = service.client.post(
        f"/api/patients/{patient_id}/consents",
        json=signing(**changes),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["etag"] == f'"consent-{body["id"]}-v1"'
    return body


def audit_rows(service: Service, patient_id: int) -> list[tuple[str, str, str, str]]:
    with service.runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.patient_id == patient_id).order_by(AuditEntry.id)
        )
        return [(r.actor, r.action, r.resource_type, r.resource_id or "") for r in rows]


def consent_count(service: Service) -> int:
    with service.runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(Consent)) or 0


# ---------------------------------------------------------------- the text (no database)


def test_every_risk_is_listed_with_a_frequency_in_both_languages(kb: KnowledgeBase) -> None:
    texts = {language: render(kb, language) for language in ("en", "es")}
    labels = {"en": "How often: ", "es": "Qué tan seguido: "}
    for language, rendered in texts.items():
        assert [r.id for r in rendered.risks] == [r.id for r in kb.data.risks]
        for risk, statement in zip(kb.data.risks, rendered.risks, strict=True):
            line = f"- {statement.title}: {statement.description} {labels[language]}"
            assert line + statement.frequency + "." in rendered.text, risk.id
            if risk.incidence:
                assert statement.source is not None
                assert "%" in statement.frequency, risk.id
                assert statement.frequency.endswith(")"), risk.id
            else:
                assert statement.source is None
                assert statement.frequency == kb.data.consent.frequency.no_figure.get(language)
        assert rendered.sha256 == hashlib.sha256(rendered.text.encode()).hexdigest()
        assert rendered.text_version == f"consent-{kb.data.consent.version}+knowledge-{kb.version}"
    assert texts["en"].text != texts["es"].text
    assert texts["en"].sha256 != texts["es"].sha256
    for en, es in zip(texts["en"].risks, texts["es"].risks, strict=True):
        assert en.frequency != es.frequency, en.id


def test_frequencies_in_plain_words(kb: KnowledgeBase) -> None:
    """Each figure says what it counts and in whom (content review 4)."""
    words = {r.id: r.frequency for r in render(kb, "en").risks}
    assert words["risk.bruising"] == "about 1 in 13 dry-needling treatments (7.55%, Brady 2014)"
    assert words["risk.any-minor-event"] == (
        "about 1 in 5 dry-needling treatments (19.18%, Brady 2014)"
    )
    assert (
        words["risk.major-event"] == "about 1 in 1,000 dry-needling sessions (0.098%, Boyce 2020)"
    )
    # soreness after treatment is usual: the study that followed it for 72 h, not "1 in 46"
    assert words["risk.pain-after"].startswith("in 60 of 60 people who had dry needling")
    # a combined bleeding-and-hematoma figure says so, and over how many treatments
    assert words["risk.hematoma"].startswith("counting bleeding and hematomas together")
    # a non-zero figure wins over Brady's zero: a risk that has happened never reads "never";
    # it comes from whole-body acupuncture, and the chest may carry more risk
    assert words["risk.pneumothorax"].startswith(
        "about 1 in 110,000 people who had acupuncture (0.00087%, Witt 2009)."
    )
    assert "near the chest may carry more risk" in words["risk.pneumothorax"]
    assert words["risk.nerve-or-vessel-injury"].startswith("no study we found")
    spanish = {r.id: r.frequency for r in render(kb, "es").risks}
    assert spanish["risk.bruising"] == (
        "alrededor de 1 de cada 13 tratamientos de punción seca (7.55%, Brady 2014)"
    )
    assert spanish["risk.hematoma"].startswith("contando juntos el sangrado y los hematomas")


#: what each unit reads as, per population (consent.yaml per_words)
DENOMINATOR_WORDS = {
    ("en", "dry-needling"): ("dry-needling treatments", "dry-needling sessions", "people who had dry needling"),
    ("en", "acupuncture"): ("acupuncture treatments", "acupuncture sessions", "people who had acupuncture"),
    ("es", "dry-needling"): ("tratamientos de punción seca", "sesiones de punción seca", "personas que recibieron punción seca"),
    ("es", "acupuncture"): ("tratamientos de acupuntura", "sesiones de acupuntura", "personas que recibieron acupuntura"),
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_frequency_names_its_denominator_and_population(
    kb: KnowledgeBase, language: str
) -> None:
    shown = {r.id: r.frequency for r in render(kb, language).risks}
    checked = 0
    for risk in kb.data.risks:
        figure = chosen_figure(risk)
        if figure is None or figure.value == 0:
            continue  # no figure, or "none seen in N": worded without a rate
        unit = {"treatments": 0, "sessions": 1, "patients": 2}.get(figure.per)
        assert unit is not None, f"{risk.id}: a consent figure counts {figure.per}"
        expected = DENOMINATOR_WORDS[(language, figure.population)][unit]
        assert expected in shown[risk.id], (risk.id, shown[risk.id])
        checked += 1
    assert checked >= 15


def test_rounded_figures_agree_with_their_counts(kb: KnowledgeBase) -> None:
    for risk in kb.data.risks:
        for figure in risk.incidence:
            if figure.numerator is not None and figure.denominator and not figure.upper_bound:
                decimals = len(f"{figure.value:g}".partition(".")[2])
                ratio = 100 * figure.numerator / figure.denominator
                assert round(ratio, decimals) == pytest.approx(figure.value), risk.id


def test_the_text_covers_what_consent_needs(kb: KnowledgeBase) -> None:
    template = kb.data.consent
    keys = [s.key for s in template.sections_before_risks + template.sections_after_risks]
    for key in ("what-it-is", "what-will-happen", "benefits", "alternatives", "stopping"):
        assert key in keys
    text = render(kb, "en").text
    assert "cannot promise" in text  # benefits are not guaranteed
    assert "take back this consent at any time" in text
    assert "Other choices" in text


@pytest.mark.parametrize("part", ["intro", "risks_intro", "agreement", "sections"])
def test_consent_wording_reads_at_or_below_8th_grade(kb: KnowledgeBase, part: str) -> None:
    template = kb.data.consent
    if part == "sections":
        texts = [s.body for s in template.sections_before_risks + template.sections_after_risks]
    else:
        texts = [getattr(template, part)]
    for text in texts:
        grade = textstat.flesch_kincaid_grade(text.en)
        assert grade <= 8.0, f"{part}: grade {grade}: {text.en}"
        assert text.en != text.es


# ---------------------------------------------------------------- the API


def test_text_endpoint_and_signing_store_exactly_that_text(service: Service) -> None:
    patient = new_patient(service)
    front = service.headers(Role.front_desk)
    shown = service.client.get("/api/consents/text?language=es", headers=front)
    assert shown.status_code == 200
    text = shown.json()
    assert text["language"] == "es"
    assert text["sha256"] == hashlib.sha256(text["text"].encode()).hexdigest()
    assert len(text["risks"]) == len(service.runtime.kb.data.risks)
    assert (
        service.client.get("/api/consents/text", headers=front).json()["sha256"] != (text["sha256"])
    )

    created = sign(
        service,
        patient,
        language="es",
        text_sha256=text["sha256"],
        signer_role="guardian",
        signer_name="Pat Synthetic",
        interpreter_name="Ivan Interpreter",
        interpreter_language="es",
    )
    assert created["text_sha256"] == text["sha256"]
    assert created["text_version"] == text["text_version"]
    assert created["signer_role"] == "guardian"
    assert created["created_by"] == f"user:{service.users[Role.clinician].id}"
    assert "text" not in created
    assert "signature_png_base64" not in created

    one = service.client.get(f"/api/consents/{created['id']}", headers=front)
    assert one.status_code == 200
    assert one.headers["etag"] == f'"consent-{created["id"]}-v1"'
    detail = one.json()
    assert detail["text"] == text["text"]
    assert hashlib.sha256(detail["text"].encode()).hexdigest() == detail["text_sha256"]
    assert base64.b64decode(detail["signature_png_base64"]) == SIGNATURE
    assert detail["interpreter_name"] == "Ivan Interpreter"

    listing = service.client.get(f"/api/consents?patient_id={patient}", headers=front).json()
    assert listing["total"] == 1
    assert "signature_png_base64" not in listing["items"][0]
    assert "text" not in listing["items"][0]

    clinician = f"user:{service.users[Role.clinician].id}"
    front_ref = f"user:{service.users[Role.front_desk].id}"
    cid = str(created["id"])
    assert audit_rows(service, patient)[-3:] == [
        (clinician, "create", "consent", cid),
        (front_ref, "read", "consent", cid),
        (front_ref, "read", "consent", cid),
    ]


def test_a_changed_text_is_refused(service: Service) -> None:
    patient = new_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/consents",
        json=signing(text_sha256="0" * 64),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 409
    assert consent_count(service) == 0


def tampered_png() -> str:
    return base64.b64encode(b"GIF89a" + b"\x00" * 20).decode()


@pytest.mark.parametrize(
    ("signature", "problem"),
    [
        ("not base64 at all!", "base64"),
        ("", "PNG"),
        (None, "base64"),
        ("GIF", "PNG"),
        ("tampered", "PNG"),
        ("huge", "200 KB"),
    ],
)
def test_bad_signature_is_422_naming_the_field(
    service: Service, signature: str | None, problem: str
) -> None:
    patient = new_patient(service)
    value: Any = signature
    if signature == "tampered":
        value = tampered_png()
    elif signature == "GIF":
        value = base64.b64encode(b"GIF89a").decode()
    elif signature == "huge":
        value = base64.b64encode(SIGNATURE + b"\x00" * (200 * 1024)).decode()
    response = service.client.post(
        f"/api/patients/{patient}/consents",
        json=signing(signature_png=value),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["location"] == "$.signature_png"
    assert problem in error["message"]
    assert consent_count(service) == 0
    assert [row for row in audit_rows(service, patient) if row[2] == "consent"] == []


def test_a_data_url_signature_is_accepted(service: Service) -> None:
    patient = new_patient(service)
    data_url = "data:image/png;base64," + base64.b64encode(SIGNATURE).decode()
    created = sign(service, patient, signature_png=data_url)
    detail = service.client.get(
        f"/api/consents/{created['id']}", headers=service.headers(Role.admin)
    ).json()
    assert base64.b64decode(detail["signature_png_base64"]) == SIGNATURE


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"signer_role": "friend"}, "$.signer_role"),
        ({"typed_name": "   "}, "$.typed_name"),
        ({"language": "fr"}, "$.language"),
        ({"interpreter_name": "Ivan"}, "$.interpreter_language"),
        ({"interpreter_language": "es"}, "$.interpreter_language"),
        ({"colour": "red"}, "$.colour"),
    ],
)
def test_bad_signing_fields_are_422(
    service: Service, changes: dict[str, Any], location: str
) -> None:
    patient = new_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/consents",
        json=signing(**changes),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == location
    assert consent_count(service) == 0


def test_roles(service: Service) -> None:
    patient = new_patient(service)
    refused = service.client.post(
        f"/api/patients/{patient}/consents",
        json=signing(),
        headers=service.headers(Role.front_desk),
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["permission"] == "consents:write"
    assert consent_count(service) == 0
    created = sign(service, patient)
    front = service.headers(Role.front_desk)
    assert service.client.get(f"/api/consents/{created['id']}", headers=front).status_code == 200
    withdraw = service.client.post(
        f"/api/consents/{created['id']}/withdraw",
        json={"reason": "changed mind"},
        headers={**front, "if-match": f'"consent-{created["id"]}-v1"'},
    )
    assert withdraw.status_code == 403
    assert service.client.get("/api/consents/text").status_code == 401
    assert service.client.get("/api/consents").status_code == 401
    assert service.client.post(f"/api/patients/{patient}/consents", json=signing()).status_code == (
        401
    )
    missing = service.client.post(
        "/api/patients/9999/consents", json=signing(), headers=service.headers(Role.clinician)
    )
    assert missing.status_code == 404
    assert service.client.get("/api/consents/9999", headers=front).status_code == 404


def test_withdraw_needs_if_match_and_ends_consent(service: Service) -> None:
    patient = new_patient(service)
    with service.runtime.db.read() as session:
        assert current_consent(session, patient) is None
    older = sign(service, patient)
    created = sign(service, patient)
    with service.runtime.db.read() as session:
        current = current_consent(session, patient)
        assert current is not None
        assert current.id == created["id"]

    admin = service.headers(Role.clinician)  # consent work is clinical
    url = f"/api/consents/{created['id']}/withdraw"
    missing = service.client.post(url, json={"reason": "changed mind"}, headers=admin)
    assert missing.status_code == 428
    bad = service.client.post(
        url, json={"reason": " "}, headers={**admin, "if-match": f'"consent-{created["id"]}-v1"'}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["location"] == "$.reason"
    done = service.client.post(
        url,
        json={"reason": "changed mind"},
        headers={**admin, "if-match": f'"consent-{created["id"]}-v1"'},
    )
    assert done.status_code == 200, done.text
    assert done.json()["withdrawn_at"] is not None
    assert done.json()["withdrawal_reason"] == "changed mind"
    assert done.headers["etag"] == f'"consent-{created["id"]}-v2"'
    stale = service.client.post(
        url,
        json={"reason": "again"},
        headers={**admin, "if-match": f'"consent-{created["id"]}-v1"'},
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["current_version"] == 2
    twice = service.client.post(
        url,
        json={"reason": "again"},
        headers={**admin, "if-match": f'"consent-{created["id"]}-v2"'},
    )
    assert twice.status_code == 409

    # a withdrawal ends consent: the older, unwithdrawn consent does not come back
    with service.runtime.db.read() as session:
        assert current_consent(session, patient) is None
    assert older["withdrawn_at"] is None
    admin_ref = f"user:{service.users[Role.clinician].id}"
    assert (admin_ref, "withdraw", "consent", str(created["id"])) in audit_rows(service, patient)


def test_the_patients_copy(service: Service) -> None:
    patient = new_patient(service, language="es")
    created = sign(
        service,
        patient,
        language="es",
        typed_name="<b>Tess</b> & co",
        signer_name="Tess <script>alert(1)</script>",
        interpreter_name="Ivan",
        interpreter_language="es",
    )
    front = service.headers(Role.front_desk)
    stored = service.client.get(f"/api/consents/{created['id']}", headers=front).json()["text"]

    text = service.client.get(f"/api/consents/{created['id']}/copy", headers=front)
    assert text.status_code == 200
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text.startswith(stored.rstrip("\n"))
    assert "Firmado por: Tess <script>alert(1)</script> (el paciente)" in text.text
    assert "Intérprete: Ivan (es)" in text.text
    assert created["text_sha256"] in text.text
    assert "no se ha retirado" in text.text

    service.client.post(
        f"/api/consents/{created['id']}/withdraw",
        json={"reason": "no <more>"},
        headers={**service.headers(Role.clinician), "if-match": f'"consent-{created["id"]}-v1"'},
    )
    html = service.client.get(f"/api/consents/{created['id']}/copy?format=html", headers=front)
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    page = html.text
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="es">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script>" not in page
    assert "Tess &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Tess&lt;/b&gt; &amp; co" in page
    assert "no &lt;more&gt;" in page
    assert "Consentimiento retirado el (UTC)" in page
    assert "Consentimiento para punción seca" in page

    bad = service.client.get(f"/api/consents/{created['id']}/copy?format=pdf", headers=front)
    assert bad.status_code == 422
    front_ref = f"user:{service.users[Role.front_desk].id}"
    copies = [r for r in audit_rows(service, patient) if r[2] == "consent-copy"]
    assert copies == [(front_ref, "read", "consent-copy", str(created["id"]))] * 2
