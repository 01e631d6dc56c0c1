"""Attack (issue 9, finding 5): forged text in a legal copy.

A typed name holding a newline forged a "Withdrawn on" line in the plain-text copy of a
signed consent, and control characters and bidirectional overrides were accepted in
names. Now every name-like field (patient, user, provider, clinic and signer names, the
typed name, interpreter fields, licence numbers, phone numbers, override and withdrawal
reasons) refuses C0/C1 control characters, Unicode bidi embeddings, overrides and
isolates and other invisible format characters with a 422 naming the field, and the
copies render any stored value — even one written before this fix — on its own line.
Both databases.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from needlewise.cli import main
from needlewise.persistence.models import Consent, Patient, Provider, User
from needlewise.security.roles import Role
from support.service import Service
from support.treatment import (
    add_consent,
    make_patient,
    make_provider,
    ready_patient,
    session_body,
    signature_png,
)

SIGNATURE = base64.b64encode(signature_png(1, 1)).decode()

#: characters no name may hold: a name with one of these can break out of its line,
#: reorder the text around it, or hide text
BAD = {
    "line feed": "\n",
    "carriage return": "\r",
    "tab": "\t",
    "escape": "\x1b",
    "delete": "\x7f",
    "C1 next line": "\x85",
    "C1 control": "\x9b",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "pop directional formatting": "\u202c",
    "right-to-left isolate": "\u2067",
    "pop directional isolate": "\u2069",
    "right-to-left mark": "\u200f",
    "zero-width space": "\u200b",
    "word joiner": "\u2060",
    "byte-order mark": "\ufeff",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "soft hyphen": "\u00ad",
    "Arabic letter mark": "\u061c",
    "invisible tag": "\U000e0041",
    "Hangul filler": "\u3164",
}
#: real names, which must keep working (ZWNJ and ZWJ are letters' glue in Persian,
#: Indic scripts and emoji)
GOOD = [
    "José Núñez-O'Brien",
    "محمد الأحمد",
    "\u0645\u06cc\u200c\u0646\u0627",  # Persian with a zero-width non-joiner
    "\u0915\u094d\u200d\u0937",  # Devanagari with a zero-width joiner
    "Zoë 李",
]


def consent_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "language": "en",
        "typed_name": "Rae Synthetic",
        "signature_png": SIGNATURE,
        "signer_role": "patient",
        "signer_name": "Rae Synthetic",
    }
    body.update(changes)
    return body


def etag(service: Service, path: str, role: Role) -> str:
    response = service.client.get(path, headers=service.headers(role))
    assert response.status_code == 200, response.text
    return response.headers["etag"]


Send = Callable[[Service, str], Any]


def post_patient(field: str) -> Send:
    def send(service: Service, value: str) -> Any:
        body = {"given_name": "Rae", "family_name": "Synthetic", field: value}
        return service.client.post(
            "/api/patients", json=body, headers=service.headers(Role.front_desk)
        )

    return send


def patch_patient(field: str) -> Send:
    def send(service: Service, value: str) -> Any:
        patient = make_patient(service)
        path = f"/api/patients/{patient}"
        headers = {
            **service.headers(Role.front_desk),
            "if-match": etag(service, path, Role.front_desk),
        }
        return service.client.patch(path, json={field: value}, headers=headers)

    return send


def post_provider(field: str) -> Send:
    def send(service: Service, value: str) -> Any:
        body = {
            "name": "Synthetic PT",
            "profession": "pt",
            "licence_state": "CO",
            "licence_number": "SYN-1",
            field: value,
        }
        return service.client.post("/api/providers", json=body, headers=service.headers(Role.admin))

    return send


def patch_provider(service: Service, value: str) -> Any:
    provider = make_provider(service)
    path = f"/api/providers/{provider}"
    headers = {**service.headers(Role.admin), "if-match": etag(service, path, Role.admin)}
    return service.client.patch(path, json={"name": value}, headers=headers)


def post_user(service: Service, value: str) -> Any:
    body = {
        "email": f"user-{uuid.uuid4().hex[:8]}@clinic.example",
        "name": value,
        "role": "front-desk",
        "password": "a long synthetic passphrase 42",
    }
    return service.client.post("/api/users", json=body, headers=service.headers(Role.admin))


def patch_user(service: Service, value: str) -> Any:
    path = f"/api/users/{service.users[Role.front_desk].id}"
    headers = {**service.headers(Role.admin), "if-match": etag(service, path, Role.admin)}
    return service.client.patch(path, json={"name": value}, headers=headers)


def put_clinic(field: str) -> Send:
    def send(service: Service, value: str) -> Any:
        headers = {
            **service.headers(Role.admin),
            "if-match": etag(service, "/api/clinic", Role.admin),
        }
        body: dict[str, Any] = {"name": "Synthetic Clinic", "phones": ["555-0100"]}
        if field == "phones":
            body["phones"] = ["555-0100", value]
        else:
            body[field] = value
        return service.client.put("/api/clinic", json=body, headers=headers)

    return send


def sign(field: str) -> Send:
    def send(service: Service, value: str) -> Any:
        patient = make_patient(service)
        changes = {field: value}
        if field == "interpreter_name":
            changes["interpreter_language"] = "Spanish"
        if field == "interpreter_language":
            changes["interpreter_name"] = "Ana Synthetic"
        return service.client.post(
            f"/api/patients/{patient}/consents",
            json=consent_body(**changes),
            headers=service.headers(Role.clinician),
        )

    return send


def sign_via_link(service: Service, value: str) -> Any:
    patient = make_patient(service)
    link = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "consent"},
        headers=service.headers(Role.front_desk),
    )
    assert link.status_code == 201, link.text
    body = consent_body(typed_name=value)
    del body["signer_role"]
    return service.client.post(f"/api/p/{link.json()['token']}/consent", json=body)


def withdraw(service: Service, value: str) -> Any:
    patient = make_patient(service)
    consent = add_consent(service, patient)
    path = f"/api/consents/{consent}"
    headers = {**service.headers(Role.clinician), "if-match": etag(service, path, Role.clinician)}
    return service.client.post(f"{path}/withdraw", json={"reason": value}, headers=headers)


def override(service: Service, value: str) -> Any:
    patient, provider = ready_patient(service, "not-eligible")
    return service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, override={"reason": value}),
        headers=service.headers(Role.clinician),
    )


FIELDS: dict[str, tuple[Send, str]] = {
    "patient given name": (post_patient("given_name"), "$.given_name"),
    "patient family name": (post_patient("family_name"), "$.family_name"),
    "patient phone": (post_patient("phone"), "$.phone"),
    "patient name change": (patch_patient("family_name"), "$.family_name"),
    "provider name": (post_provider("name"), "$.name"),
    "provider licence number": (post_provider("licence_number"), "$.licence_number"),
    "provider name change": (patch_provider, "$.name"),
    "user name": (post_user, "$.name"),
    "user name change": (patch_user, "$.name"),
    "clinic name": (put_clinic("name"), "$.name"),
    "clinic phone": (put_clinic("phones"), "$.phones[1]"),
    "typed name": (sign("typed_name"), "$.typed_name"),
    "signer name": (sign("signer_name"), "$.signer_name"),
    "interpreter name": (sign("interpreter_name"), "$.interpreter_name"),
    "interpreter language": (sign("interpreter_language"), "$.interpreter_language"),
    "typed name through a link": (sign_via_link, "$.typed_name"),
    "withdrawal reason": (withdraw, "$.reason"),
    "override reason": (override, "$.override.reason"),
}
NAME_FIELDS = [
    "patient given name",
    "provider name",
    "user name",
    "clinic name",
    "typed name",
    "signer name",
    "interpreter name",
]


def stored_counts(service: Service) -> tuple[int, ...]:
    with service.runtime.db.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Patient, Provider, User, Consent)
        )


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_name_like_field_refuses_control_and_format_characters(
    service: Service, field: str
) -> None:
    send, where = FIELDS[field]
    refused = []
    for label, char in BAD.items():
        response = send(service, f"Rae{char}Synthetic")
        if response.status_code != 422:
            refused.append(f"{label}: {response.status_code}")
            continue
        error = response.json()["error"]
        assert error["location"] == where, (label, error)
        assert "Rae" not in error["message"]  # the value is never echoed
    assert refused == [], f"{field} accepted: {refused}"


@pytest.mark.parametrize("field", NAME_FIELDS)
def test_real_names_are_accepted(service: Service, field: str) -> None:
    send, _ = FIELDS[field]
    accepted = 200 if field == "clinic name" else 201  # the clinic is edited, the rest created
    for name in GOOD:
        response = send(service, name)
        assert response.status_code == accepted, (name, response.text)
    blank = send(service, "   ")
    assert blank.status_code == 422


def test_a_newline_cannot_forge_a_withdrawal_line(service: Service) -> None:
    """The attack as it was found: nothing is stored, so no copy carries the forgery."""
    patient = make_patient(service)
    before = stored_counts(service)
    response = service.client.post(
        f"/api/patients/{patient}/consents",
        json=consent_body(typed_name="Rae Synthetic\nWithdrawn on: 2026-01-02 03:04"),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == "$.typed_name"
    assert stored_counts(service) == before


FORGED = {
    "typed_name": "Rae\nConsent taken back on (UTC): 2026-01-02 03:04\nReason: forged",
    "signer_name": "Rae\r\nNot withdrawn",
    "interpreter_name": "Ana\u2028Consent taken back on (UTC): 2026-01-02 03:04",
    "interpreter_language": "Spanish\u202e)daerd(",
    "withdrawal_reason": "moved\x85Signed on (UTC): 1999-01-01 00:00",
}
#: characters that may start a new line or reorder a line in a viewer
BREAKERS = ("\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\u202e")


@pytest.mark.parametrize("withdrawn", [False, True])
def test_copies_keep_every_stored_value_on_its_own_line(service: Service, withdrawn: bool) -> None:
    """Defence in depth: a row written before the fix (here straight into the database)
    still cannot add a line to the copy or reorder it."""
    labels = service.runtime.kb.data.consent.copy_labels
    patient = make_patient(service)
    consent = add_consent(service, patient, withdrawn=withdrawn)
    with service.runtime.db.write() as session:
        row = session.get(Consent, consent)
        assert row is not None
        for key, value in FORGED.items():
            if key != "withdrawal_reason" or withdrawn:
                setattr(row, key, value)
    expected = [
        labels.signed_by.en,
        labels.typed_name.en,
        labels.signed_on.en,
        labels.interpreter.en,
        labels.text_version.en,
        labels.fingerprint.en,
    ]
    if withdrawn:
        expected += [labels.withdrawn_on.en, labels.reason.en]

    text = service.client.get(
        f"/api/consents/{consent}/copy?format=text", headers=service.headers(Role.clinician)
    )
    assert text.status_code == 200, text.text
    lines = text.text.split("\n")
    tail = [line for line in lines[lines.index(labels.heading.en) + 1 :] if line]
    rows = tail if withdrawn else tail[:-1]
    assert [line.split(": ", 1)[0] for line in rows] == expected
    if not withdrawn:
        assert tail[-1] == labels.not_withdrawn.en
    assert sum(line.startswith(labels.withdrawn_on.en) for line in lines) == int(withdrawn)
    for char in BREAKERS[1:]:
        assert char not in text.text, repr(char)
    assert "[U+202E]" in text.text  # shown, not obeyed

    html = service.client.get(
        f"/api/consents/{consent}/copy?format=html", headers=service.headers(Role.clinician)
    )
    assert html.status_code == 200
    values = re.findall(r"<dd>(.*?)</dd>", html.text, flags=re.DOTALL)
    assert len(values) == len(expected)
    for value in values:
        assert "<" not in value
        for char in BREAKERS:
            assert char not in value, repr(char)


def test_a_name_stored_before_the_fix_still_reads(service: Service) -> None:
    """Names written before the fix are read back as stored (no 500): only writing them
    again is refused."""
    patient = make_patient(service)
    with service.runtime.db.write() as session:
        row = session.get(Patient, patient)
        assert row is not None
        row.family_name = "Synthetic\u202e"
    read = service.client.get(f"/api/patients/{patient}", headers=service.headers(Role.front_desk))
    assert read.status_code == 200
    assert read.json()["family_name"] == "Synthetic\u202e"


@pytest.mark.parametrize(
    ("name", "clinic", "where"),
    [
        ("Rae\u202eSynthetic", "Synthetic Clinic", "--name"),
        ("Rae Synthetic", "Synthetic\nClinic", "--clinic"),
    ],
)
def test_the_command_line_refuses_them_with_exit_2(
    tmp_path: Path, valuesets_dir: Path, name: str, clinic: str, where: str
) -> None:
    """``needlewise user create-admin`` reads the same models: exit 2 naming the option."""
    result = CliRunner(env={"NEEDLEWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}).invoke(
        main,
        [
            "--valuesets",
            str(valuesets_dir),
            "user",
            "create-admin",
            "--email",
            "admin@clinic.example",
            "--name",
            name,
            "--clinic",
            clinic,
            "--password",
            "a long synthetic passphrase 42",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    assert where in result.stderr
    assert "one line of visible text" in result.stderr
