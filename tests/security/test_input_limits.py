"""Attacks (issue 9, findings 7 and 10): denial of service and errors on demand.

* A deeply nested QuestionnaireResponse raised a RecursionError (500), and nesting an
  unread field deep enough made storing the document fail (500). Now JSON nested more
  than 200 levels is refused when it is parsed, and QuestionnaireResponse items nested
  more than 32 levels when they are walked: a 422 naming the JSON path, on every door
  (the API's screening, triage, stored screenings and check-ins, a patient's intake link,
  and the command line, which exits 2).
* Duplicate keys in a JSON object were silently last-one-wins; now every JSON body (and
  FHIR input to the command line) with a duplicate key is refused, naming the key and its
  path.
* An invalid ``user_id`` on provider creation was a 500 (unknown id) or quietly linked a
  user of another clinic: now both get the same 422, which tells nothing about another
  clinic's records.

On both databases where a database is involved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from needlewise.cli import main
from needlewise.interop.fhir.canonical import YES_NO_SYSTEM
from needlewise.persistence.models import CheckIn, Patient, Provider, Screening
from needlewise.security.roles import Role
from support.service import Service, seed_clinic
from support.treatment import make_patient

AFTERCARE = "https://needlewise.org/fhir/Questionnaire/needlewise-aftercare"


def nested_items(levels: int, questionnaire: str | None = None) -> bytes:
    """A QuestionnaireResponse (raw JSON) whose items nest ``levels`` deep; the innermost
    answers the needle-fear question "no". Built as text: too deep for ``json.dumps``."""
    innermost = (
        b'{"linkId": "contraindication.needle-fear", "answer": [{"valueCoding": '
        b'{"system": "' + YES_NO_SYSTEM.encode() + b'", "code": "N"}}]}'
    )
    head = b'{"resourceType": "QuestionnaireResponse", "status": "completed", '
    if questionnaire is not None:
        head += b'"questionnaire": "' + questionnaire.encode() + b'", '
    opening = b'{"linkId": "group", "item": [' * (levels - 1)
    return head + b'"item": [' + opening + innermost + b"]}" * (levels - 1) + b"]}"


def item_path(level: int) -> str:
    return "$" + ".item[0]" * level


def deep_list(depth: int) -> bytes:
    """``[[[...1...]]]`` nested ``depth`` deep, as JSON text."""
    return b"[" * depth + b"1" + b"]" * depth


def post(service: Service, path: str, document: Any, role: Role = Role.clinician) -> Any:
    return service.client.post(
        path,
        content=document if isinstance(document, bytes) else json.dumps(document),
        headers={**service.headers(role), "content-type": "application/json"},
    )


def count(service: Service, table: Any) -> int:
    with service.runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


# ---------------------------------------------------------------- depth


@pytest.mark.parametrize("levels", [150, 480])
def test_deeply_nested_items_are_refused_with_a_path(service: Service, levels: int) -> None:
    patient = make_patient(service)
    doors = {
        "/api/screen": nested_items(levels),
        f"/api/patients/{patient}/screenings": nested_items(levels),
        "/api/triage": nested_items(levels, AFTERCARE),
        f"/api/patients/{patient}/check-ins": nested_items(levels, AFTERCARE),
    }
    for path, sent in doors.items():
        response = post(service, path, sent)
        assert response.status_code == 422, (path, response.status_code, response.text[:300])
        error = response.json()["error"]
        assert error["code"] == "invalid-input"
        assert error["location"].startswith("$.item[0].item[0]"), (path, error)
        assert "deep" in error["message"], error
    assert count(service, Screening) == 0
    assert count(service, CheckIn) == 0


def test_items_nested_at_the_limit_are_read(service: Service) -> None:
    """32 levels of items is the limit: the innermost answer is still read."""
    response = post(service, "/api/screen", nested_items(32))
    assert response.status_code == 200, response.text
    assert "contraindication.needle-fear" not in response.json()["unanswered"]
    too_deep = post(service, "/api/screen", nested_items(33))
    assert too_deep.status_code == 422
    assert too_deep.json()["error"]["location"] == item_path(33)


def test_a_patient_link_refuses_deep_items(service: Service) -> None:
    patient = make_patient(service)
    link = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "intake"},
        headers=service.headers(Role.front_desk),
    )
    assert link.status_code == 201
    response = service.client.post(
        f"/api/p/{link.json()['token']}/intake",
        content=nested_items(300),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["location"].startswith("$.item[0].item[0]")
    assert count(service, Screening) == 0


@pytest.mark.parametrize("depth", [230, 600, 1100])
def test_deep_json_anywhere_is_refused_with_a_path(service: Service, depth: int) -> None:
    """An unread field nested deep (it would be stored with the inputs) and a deep value
    in a record body: 422 naming where the nesting went too deep."""
    patient = make_patient(service)
    bundle = (
        b'{"resourceType": "Bundle", "type": "collection", "entry": [], "meta": {"x": '
        + deep_list(depth)
        + b"}}"
    )
    stored = post(service, f"/api/patients/{patient}/screenings", bundle)
    assert stored.status_code == 422, stored.text[:300]
    error = stored.json()["error"]
    assert error["location"].startswith("$.meta.x[0][0][0]"), error
    assert "200" in error["message"]
    assert count(service, Screening) == 0

    record = post(
        service, "/api/patients", b'{"family_name": "S", "given_name": ' + deep_list(depth) + b"}"
    )
    assert record.status_code == 422
    assert record.json()["error"]["location"].startswith("$.given_name[0]")


def test_json_nested_200_levels_is_accepted(service: Service) -> None:
    """Just under the limit, and stored: reading it back is no error either."""
    patient = make_patient(service)
    bundle = (
        b'{"resourceType": "Bundle", "type": "collection", "entry": [], "x": '
        + deep_list(197)
        + b"}"
    )
    stored = post(service, f"/api/patients/{patient}/screenings", bundle)
    assert stored.status_code == 201, stored.text[:300]
    read = service.client.get(
        f"/api/screenings/{stored.json()['id']}", headers=service.headers(Role.clinician)
    )
    assert read.status_code == 200


# ---------------------------------------------------------------- duplicate keys


DUPLICATES = {
    "a record body": (
        "/api/patients",
        b'{"given_name": "Ann", "family_name": "Synthetic", "given_name": "Bea"}',
        "$.given_name",
        "given_name",
    ),
    "a login": (
        "/api/auth/login",
        b'{"email": "a@clinic.example", "password": "x", "email": "b@clinic.example"}',
        "$.email",
        "email",
    ),
    "a FHIR resource deep in a Bundle": (
        "/api/screen",
        b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
        b'{"resourceType": "Condition", "clinicalStatus": {"coding": []}, '
        b'"code": {"text": "x"}, "clinicalStatus": {"coding": []}}}]}',
        "$.entry[0].resource.clinicalStatus",
        "clinicalStatus",
    ),
    "an escaped spelling of the same key": (
        "/api/triage",
        b'{"text": "fine", "t\\u0065xt": "chest pain"}',
        "$.text",
        "text",
    ),
}


@pytest.mark.parametrize("case", list(DUPLICATES))
def test_duplicate_keys_are_refused(service: Service, case: str) -> None:
    path, raw, where, key = DUPLICATES[case]
    before = count(service, Patient)
    response = post(service, path, raw, role=Role.front_desk)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["location"] == where
    assert f'"{key}"' in error["message"]
    assert count(service, Patient) == before


def test_duplicate_keys_in_a_list_of_objects_name_the_item(service: Service) -> None:
    raw = (
        b'{"resourceType": "QuestionnaireResponse", "item": [{"linkId": "a"}, '
        b'{"linkId": "b",\n "answer": [], "linkId": "c"}]}'
    )
    response = post(service, "/api/screen", raw)
    assert response.status_code == 422
    assert response.json()["error"]["location"] == "$.item[1].linkId"


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (nested_items(120), "$.item[0].item[0]"),
        (b'{"resourceType": "Bundle", "x": ' + deep_list(400) + b"}", "$.x[0][0]"),
        (b'{"resourceType": "Bundle", "type": "collection", "type": "batch"}', "$.type"),
    ],
    ids=["deep items", "deep json", "duplicate key"],
)
def test_the_command_line_refuses_them_with_exit_2(
    tmp_path: Path, valuesets_dir: Path, content: bytes, where: str
) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    result = CliRunner().invoke(
        main, ["--valuesets", str(valuesets_dir), "screen", str(path)], catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    assert where in result.stderr
    assert "internal error" not in result.stderr


# ---------------------------------------------------------------- provider user_id


def other_clinic_user(service: Service) -> int:
    other = seed_clinic(service.runtime, "Second Synthetic Clinic", domain="second.example")
    return other.users[Role.clinician].id


def provider_body(user_id: Any) -> dict[str, Any]:
    return {
        "name": "Synthetic PT",
        "profession": "pt",
        "licence_state": "CO",
        "licence_number": "SYN-1",
        "user_id": user_id,
    }


def test_provider_user_id_reveals_nothing_about_another_clinic(service: Service) -> None:
    foreign = other_clinic_user(service)
    missing = foreign + 1000
    answers = []
    for user_id in (foreign, missing):
        response = post(service, "/api/providers", provider_body(user_id), role=Role.admin)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        answers.append(
            (error["code"], error["location"], error["message"].replace(str(user_id), "N"))
        )
    assert answers[0] == answers[1]
    assert answers[0][1] == "$.user_id"
    assert count(service, Provider) == 0

    own = post(
        service, "/api/providers", provider_body(service.users[Role.clinician].id), role=Role.admin
    )
    assert own.status_code == 201, own.text


@pytest.mark.parametrize("user_id", [0, -1, 2**31, 2**63, 10**30])
def test_provider_user_id_out_of_range(service: Service, user_id: int) -> None:
    response = post(service, "/api/providers", provider_body(user_id), role=Role.admin)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == "$.user_id"
