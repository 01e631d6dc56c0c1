"""Treatment sessions through the API on both databases.

The rules (services/session_rules.py), table-driven by rule id:
session.requires-screening, session.requires-eligible-screening (and the clinician's
audited override), session.screening-covers-electrical-stimulation,
session.requires-consent, and the provider's state scope (state.ny for a PT). Also: the
CPT line is derived from the muscles (20560 / 20561) and re-derived on PATCH, never sent;
If-Match; audit entries for reads and writes; role checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from needlewise.persistence.models import AuditEntry
from needlewise.security.roles import Role
from support.service import Service
from support.treatment import (
    add_consent,
    add_screening,
    audit_rows,
    make_patient,
    make_provider,
    ready_patient,
    session_body,
    user_ref,
)

Setup = Callable[[Service], tuple[int, dict[str, Any]]]


def no_screening(service: Service) -> tuple[int, dict[str, Any]]:
    patient = make_patient(service)
    add_consent(service, patient)
    return patient, session_body(make_provider(service))


def not_eligible(service: Service) -> tuple[int, dict[str, Any]]:
    patient, provider = ready_patient(service, "not-eligible")
    return patient, session_body(provider)


def review(service: Service) -> tuple[int, dict[str, Any]]:
    patient, provider = ready_patient(service, "review")
    return patient, session_body(provider)


def later_not_eligible(service: Service) -> tuple[int, dict[str, Any]]:
    """Naming an older eligible screening does not hide a newer not-eligible one."""
    patient = make_patient(service)
    older = add_screening(service, patient, "eligible")
    add_screening(service, patient, "not-eligible")
    add_consent(service, patient)
    return patient, session_body(make_provider(service), screening_id=older)


def no_consent(service: Service) -> tuple[int, dict[str, Any]]:
    patient = make_patient(service)
    add_screening(service, patient)
    return patient, session_body(make_provider(service))


def withdrawn_consent(service: Service) -> tuple[int, dict[str, Any]]:
    patient = make_patient(service)
    add_screening(service, patient)
    add_consent(service, patient, withdrawn=True)
    return patient, session_body(make_provider(service))


def no_consent_even_with_override(service: Service) -> tuple[int, dict[str, Any]]:
    patient = make_patient(service)
    add_screening(service, patient, "not-eligible")
    return patient, session_body(make_provider(service), override={"reason": "benefit"})


def estim_not_screened(service: Service) -> tuple[int, dict[str, Any]]:
    patient = make_patient(service)
    add_screening(service, patient, "eligible", electrical_stimulation=False)
    add_consent(service, patient)
    return patient, session_body(make_provider(service), electrical_stimulation=True)


def estim_plan_unknown(service: Service) -> tuple[int, dict[str, Any]]:
    patient = make_patient(service)
    add_screening(service, patient, "eligible", electrical_stimulation=None)
    add_consent(service, patient)
    return patient, session_body(make_provider(service), electrical_stimulation=True)


def pt_in_new_york(service: Service) -> tuple[int, dict[str, Any]]:
    patient, _ = ready_patient(service)
    return patient, session_body(make_provider(service, "NY", "pt"))


RULES: list[tuple[str, Setup, int, str | None]] = [
    ("no screening", no_screening, 422, "session.requires-screening"),
    ("not-eligible, no override", not_eligible, 422, "session.requires-eligible-screening"),
    ("review is allowed", review, 201, None),
    ("later not-eligible", later_not_eligible, 422, "session.requires-eligible-screening"),
    (
        "e-stim not screened",
        estim_not_screened,
        422,
        "session.screening-covers-electrical-stimulation",
    ),
    ("e-stim plan unknown (screened as if included)", estim_plan_unknown, 201, None),
    ("no consent", no_consent, 422, "session.requires-consent"),
    ("withdrawn consent", withdrawn_consent, 422, "session.requires-consent"),
    ("consent is never overridden", no_consent_even_with_override, 422, "session.requires-consent"),
    ("PT in New York", pt_in_new_york, 422, "state.ny"),
]


@pytest.mark.parametrize(
    ("setup", "status", "rule"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_session_rules(service: Service, setup: Setup, status: int, rule: str | None) -> None:
    patient, body = setup(service)
    clinician = service.headers(Role.clinician)
    response = service.client.post(
        f"/api/patients/{patient}/sessions", json=body, headers=clinician
    )
    assert response.status_code == status, response.text
    if rule is None:
        return
    error = response.json()["error"]
    assert error["code"] == "rule-violation"
    assert error["rule"] == rule
    assert error["sources"], "a violation cites its sources"
    assert rule in error["message"]
    if rule.startswith("session."):
        policy = service.runtime.kb.policy(error["policy"])
        assert error["policy"] == "policy." + rule.replace(".", "-", 1)
        assert error["sources"] == list(policy.sources)
    # a refused session records nothing, but the attempt is in the audit log
    listing = service.client.get(f"/api/sessions?patient_id={patient}", headers=clinician).json()
    assert listing["total"] == 0
    with service.runtime.db.read() as session:
        attempts = session.execute(
            select(
                AuditEntry.actor, AuditEntry.action, AuditEntry.resource_id, AuditEntry.outcome
            ).where(AuditEntry.patient_id == patient, AuditEntry.resource_type == "session")
        ).all()
    assert [tuple(a) for a in attempts] == [
        (user_ref(service, Role.clinician), "create", None, "refused")
    ]


def test_not_permitted_state_names_the_rule_profession_and_source(service: Service) -> None:
    patient, body = pt_in_new_york(service)
    response = service.client.post(
        f"/api/patients/{patient}/sessions", json=body, headers=service.headers(Role.clinician)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["rule"], error["profession"]) == ("state.ny", "pt")
    assert error["policy"] == "policy.session-provider-scope"
    assert "source.pphc-2026" in error["sources"]
    assert "New York" in error["message"]
    assert service.runtime.kb.citation("source.pphc-2026") in error["message"]


@pytest.mark.parametrize(
    ("state", "profession", "status"),
    [("CO", "pt", "allowed"), ("CT", "pt", "silent"), ("CO", "physician", "unknown")],
)
def test_scope_status_is_stored(service: Service, state: str, profession: str, status: str) -> None:
    patient, _ = ready_patient(service)
    provider = make_provider(service, state, profession)
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    assert response.json()["scope_status"] == status


@pytest.mark.parametrize("role", [Role.front_desk, Role.admin])
def test_only_clinicians_record_sessions(service: Service, role: Role) -> None:
    patient, provider = ready_patient(service, "not-eligible")
    body = session_body(provider, override={"reason": "benefit outweighs risk"})
    response = service.client.post(
        f"/api/patients/{patient}/sessions", json=body, headers=service.headers(role)
    )
    assert response.status_code == 403
    assert response.json()["error"]["permission"] == "sessions:write"


def test_clinician_override_is_stored_and_audited(service: Service) -> None:
    patient, provider = ready_patient(service, "not-eligible")
    reason = "Discussed with patient; benefit outweighs risk"
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, override={"reason": reason}),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["override_reason"] == reason
    assert out["override_by"] == service.users[Role.clinician].id
    clinician = user_ref(service, Role.clinician)
    sid = str(out["id"])
    rows = [row for row in audit_rows(service, patient) if row[2] == "session"]
    assert rows == [
        (clinician, "create", "session", sid),
        (clinician, "override", "session", sid),
    ]


@pytest.mark.parametrize(
    ("override", "location"),
    [({"reason": "   "}, "$.override.reason"), ({}, "$.override.reason")],
)
def test_override_needs_a_reason(service: Service, override: dict[str, str], location: str) -> None:
    patient, provider = ready_patient(service, "not-eligible")
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, override=override),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422
    assert response.json()["error"]["location"] == location


def test_override_of_an_eligible_screening_is_refused(service: Service) -> None:
    patient, provider = ready_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, override={"reason": "not needed"}),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422
    assert response.json()["error"]["location"] == "$.override"


@pytest.mark.parametrize(
    ("count", "code"), [(1, "20560"), (2, "20560"), (3, "20561"), (4, "20561")]
)
def test_cpt_line_is_derived_from_the_muscles(service: Service, count: int, code: str) -> None:
    patient, provider = ready_patient(service)
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, muscles=count, payer="medicare"),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["cpt_code"], out["cpt_units"], out["muscle_count"]) == (code, 1, count)
    assert out["coding"]["lines"][0]["code"] == code
    assert out["coding"]["knowledge"]["sha256"] == service.runtime.kb.sha256
    assert out["payer"] == "medicare"
    assert out["muscles"][0]["muscle"] == "muscle.upper-trapezius"


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("typed CPT code", {"cpt_code": "20561"}, "$.cpt_code"),
    ("naive time", {"performed_at": "2026-01-05T10:00:00"}, "$.performed_at"),
    ("future time", {"performed_at": "2999-01-05T10:00:00+00:00"}, "$.performed_at"),
    ("no muscles", {"muscles": []}, "$.muscles"),
    (
        "unknown muscle",
        {"muscles": [{"muscle": "muscle.heart", "laterality": "left", "needle_count": 1}]},
        "$.muscles[0].muscle",
    ),
    (
        "no needles",
        {"muscles": [{"muscle": "rhomboids", "laterality": "left", "needle_count": 0}]},
        "$.muscles[0].needle_count",
    ),
    (
        "muscle twice",
        {
            "muscles": [
                {"muscle": "rhomboids", "laterality": "left", "needle_count": 1},
                {"muscle": "muscle.rhomboids", "laterality": "left", "needle_count": 2},
            ]
        },
        "$.muscles[1]",
    ),
    ("retention too long", {"retention_seconds": 3601}, "$.retention_seconds"),
    ("stimulation missing", {"electrical_stimulation": None}, "$.electrical_stimulation"),
    ("unknown provider", {"provider_id": 999_999}, "$.provider_id"),
    ("other patient's screening", {"screening_id": 999_999}, "$.screening_id"),
]


@pytest.mark.parametrize(
    ("change", "location"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
def test_bad_input_is_422_at_its_path_and_changes_nothing(
    service: Service, change: dict[str, Any], location: str
) -> None:
    patient, provider = ready_patient(service)
    body = {**session_body(provider), **change}
    response = service.client.post(
        f"/api/patients/{patient}/sessions", json=body, headers=service.headers(Role.clinician)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["location"] == location
    listing = service.client.get("/api/sessions", headers=service.headers(Role.clinician))
    assert listing.json()["total"] == 0


def test_inactive_provider_is_refused(service: Service) -> None:
    patient, provider = ready_patient(service)
    admin = service.headers(Role.admin)
    etag = service.client.get(f"/api/providers/{provider}", headers=admin).headers["etag"]
    deactivated = service.client.patch(
        f"/api/providers/{provider}", json={"active": False}, headers={**admin, "if-match": etag}
    )
    assert deactivated.status_code == 200
    response = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider),
        headers=service.headers(Role.clinician),
    )
    assert response.status_code == 422
    assert response.json()["error"]["location"] == "$.provider_id"


def test_patch_rederives_the_cpt_line_with_if_match(service: Service) -> None:
    patient, provider = ready_patient(service)
    clinician = service.headers(Role.clinician)
    created = service.client.post(
        f"/api/patients/{patient}/sessions", json=session_body(provider), headers=clinician
    )
    sid, etag = created.json()["id"], created.headers["etag"]
    assert created.json()["cpt_code"] == "20560"
    three = session_body(provider, muscles=3)["muscles"]

    missing = service.client.patch(
        f"/api/sessions/{sid}", json={"muscles": three}, headers=clinician
    )
    assert missing.status_code == 428
    updated = service.client.patch(
        f"/api/sessions/{sid}",
        json={"muscles": three, "notes": "tolerated well"},
        headers={**clinician, "if-match": etag},
    )
    assert updated.status_code == 200, updated.text
    out = updated.json()
    assert (out["cpt_code"], out["muscle_count"], out["version"]) == ("20561", 3, 2)
    assert out["notes"] == "tolerated well"
    assert updated.headers["etag"] != etag

    stale = service.client.patch(
        f"/api/sessions/{sid}", json={"notes": "lost?"}, headers={**clinician, "if-match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["current_version"] == 2

    # only a needle count changes: the version still moves on
    fewer = [{**m, "needle_count": 1} for m in three]
    again = service.client.patch(
        f"/api/sessions/{sid}",
        json={"muscles": fewer},
        headers={**clinician, "if-match": updated.headers["etag"]},
    )
    assert again.status_code == 200
    assert again.json()["version"] == 3
    read = service.client.get(f"/api/sessions/{sid}", headers=clinician).json()
    assert [m["needle_count"] for m in read["muscles"]] == [1, 1, 1]
    assert read["cpt_code"] == "20561"

    bad = service.client.patch(
        f"/api/sessions/{sid}",
        json={"cpt_code": "20560"},
        headers={**clinician, "if-match": again.headers["etag"]},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["location"] == "$.cpt_code"
    null_muscles = service.client.patch(
        f"/api/sessions/{sid}",
        json={"muscles": None},
        headers={**clinician, "if-match": again.headers["etag"]},
    )
    assert null_muscles.status_code == 422
    assert null_muscles.json()["error"]["location"] == "$.muscles"


def test_reads_and_writes_are_audited_and_lists_filter(service: Service) -> None:
    patient, provider = ready_patient(service)
    other, _ = ready_patient(service)
    clinician = service.headers(Role.clinician)
    old = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    first = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider, performed_at=old),
        headers=clinician,
    ).json()
    second = service.client.post(
        f"/api/patients/{patient}/sessions", json=session_body(provider), headers=clinician
    ).json()
    service.client.post(
        f"/api/patients/{other}/sessions", json=session_body(provider), headers=clinician
    )

    admin = service.headers(Role.admin)
    page = service.client.get(f"/api/sessions?patient_id={patient}", headers=admin).json()
    assert page["total"] == 2
    assert [s["id"] for s in page["items"]] == [second["id"], first["id"]]  # newest first
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = service.client.get(
        "/api/sessions", params={"patient_id": patient, "since": since}, headers=admin
    ).json()
    assert [s["id"] for s in recent["items"]] == [second["id"]]
    older = service.client.get(
        "/api/sessions", params={"until": since, "provider_id": provider}, headers=admin
    ).json()
    assert [s["id"] for s in older["items"]] == [first["id"]]
    one = service.client.get(f"/api/sessions/{first['id']}", headers=admin)
    assert one.status_code == 200
    assert one.json()["muscles"][0]["needle_count"] == 2

    admin_ref, clinician_ref = user_ref(service, Role.admin), user_ref(service, Role.clinician)
    rows = [row for row in audit_rows(service, patient) if row[2] == "session"]
    assert (clinician_ref, "create", "session", str(first["id"])) in rows
    assert rows.count((admin_ref, "read", "session", str(first["id"]))) == 3
    assert rows.count((admin_ref, "read", "session", str(second["id"]))) == 2

    assert (
        service.client.get("/api/sessions", headers=service.headers(Role.front_desk)).status_code
        == 403
    )
    assert service.client.get("/api/sessions/999999", headers=admin).status_code == 404
    assert service.client.get("/api/sessions").status_code == 401
