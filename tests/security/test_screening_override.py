"""Attack (issue 9, finding 4): front desk clears a contraindication.

A front-desk user posted an "eligible" screening for a patient whose last screening was
not-eligible, and a clinician then recorded a session with no override. Now a screening
that would change a not-eligible decision needs a clinician (403, audited ``denied``),
and the session rules decide on the *decisive* screening
(:mod:`needlewise.services.decisive_screening`), so a screening that did not come from a
clinician — a patient's own intake through a link, or a row written before this fix —
never clears a not-eligible one. Both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from needlewise.persistence.models import AuditEntry, Screening
from needlewise.security.roles import Role
from support.service import Service
from support.treatment import (
    add_consent,
    add_screening,
    intake,
    make_provider,
    session_body,
    user_ref,
)

REQUIRES_ELIGIBLE = "session.requires-eligible-screening"


def new_patient(service: Service) -> int:
    response = service.client.post(
        "/api/patients",
        json={"given_name": "Rae", "family_name": "Synthetic", "birth_date": "1980-05-01"},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    patient_id: int = response.json()["id"]
    return patient_id


def screen(service: Service, patient: int, role: Role, **answers: str) -> Any:
    return service.client.post(
        f"/api/patients/{patient}/screenings",
        json=intake(service.runtime.kb, **answers),
        headers=service.headers(role),
    )


def screened(service: Service, patient: int, role: Role, decision: str, **answers: str) -> int:
    response = screen(service, patient, role, **answers)
    assert response.status_code == 201, response.text
    assert response.json()["decision"] == decision
    screening_id: int = response.json()["id"]
    return screening_id


def not_eligible_patient(service: Service) -> tuple[int, int]:
    """A patient a clinician screened not-eligible (needle fear), with a consent."""
    patient = new_patient(service)
    first = screened(service, patient, Role.clinician, "not-eligible", **{"needle-fear": "yes"})
    add_consent(service, patient)
    return patient, first


def screening_count(service: Service, patient: int) -> int:
    with service.runtime.db.read() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Screening).where(Screening.patient_id == patient)
            )
            or 0
        )


def denied_entries(service: Service, patient: int) -> list[tuple[str, str, str]]:
    with service.runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.patient_id == patient, AuditEntry.outcome == "denied")
            .order_by(AuditEntry.id)
        )
        return [(r.actor, r.action, r.resource_type) for r in rows]


def record_session(service: Service, patient: int, **fields: Any) -> Any:
    return service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(make_provider(service), **fields),
        headers=service.headers(Role.clinician),
    )


@pytest.mark.parametrize("role", [Role.front_desk, Role.admin])
@pytest.mark.parametrize(
    ("answers", "decision"),
    [({}, "eligible"), ({"needle-fear": "no", "anticoagulant": "yes"}, "review")],
)
def test_only_a_clinician_changes_a_not_eligible_decision(
    service: Service, role: Role, answers: dict[str, str], decision: str
) -> None:
    patient, first = not_eligible_patient(service)

    refused = screen(service, patient, role, **answers)

    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "forbidden"
    assert "clinician" in error["message"]
    assert f"screening {first}" in error["message"]
    assert decision in error["message"]
    assert screening_count(service, patient) == 1  # nothing stored
    assert denied_entries(service, patient) == [(user_ref(service, role), "create", "screening")]
    # and the session rules still see the not-eligible screening
    blocked = record_session(service, patient)
    assert blocked.status_code == 422, blocked.text
    assert blocked.json()["error"]["rule"] == REQUIRES_ELIGIBLE


def test_front_desk_may_still_record_a_not_eligible_screening(service: Service) -> None:
    patient, _ = not_eligible_patient(service)
    later = screened(service, patient, Role.front_desk, "not-eligible", **{"acute-illness": "yes"})
    blocked = record_session(service, patient)
    assert blocked.status_code == 422
    assert f"screening {later}" in blocked.json()["error"]["message"]


def test_front_desk_screens_freely_when_nothing_is_not_eligible(service: Service) -> None:
    patient = new_patient(service)
    screened(service, patient, Role.front_desk, "review", anticoagulant="yes")
    screened(service, patient, Role.front_desk, "eligible")
    assert denied_entries(service, patient) == []


def test_a_clinician_clears_it_and_becomes_the_decisive_screening(service: Service) -> None:
    patient, first = not_eligible_patient(service)
    cleared = screened(service, patient, Role.clinician, "eligible")

    decisive = service.client.get(
        f"/api/patients/{patient}/decisive-screening", headers=service.headers(Role.front_desk)
    )
    assert decisive.status_code == 200, decisive.text
    body = decisive.json()
    assert body["screening"]["id"] == cleared
    assert body["screening"]["created_by"] == user_ref(service, Role.clinician)
    assert body["entered_by_clinician"] is True
    assert body["clears"] == first
    assert body["why"]

    recorded = record_session(service, patient)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["screening_id"] == cleared
    assert recorded.json()["override_reason"] is None


def test_a_patient_intake_through_a_link_does_not_clear_it(service: Service) -> None:
    """Front desk may send an intake link (and could open it themselves): the answers are
    stored, but only a clinician's screening changes a not-eligible decision."""
    patient, first = not_eligible_patient(service)
    link = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": "intake"},
        headers=service.headers(Role.front_desk),
    )
    assert link.status_code == 201, link.text
    sent = service.client.post(
        f"/api/p/{link.json()['token']}/intake", json=intake(service.runtime.kb)
    )
    assert sent.status_code == 201, sent.text
    assert screening_count(service, patient) == 2

    blocked = record_session(service, patient)
    assert blocked.status_code == 422, blocked.text
    error = blocked.json()["error"]
    assert error["rule"] == REQUIRES_ELIGIBLE
    assert f"screening {first}" in error["message"]
    # naming the patient's eligible screening does not get round it either
    with service.runtime.db.read() as session:
        newest = session.scalar(
            select(func.max(Screening.id)).where(Screening.patient_id == patient)
        )
    named = record_session(service, patient, screening_id=newest)
    assert named.status_code == 422
    assert named.json()["error"]["rule"] == REQUIRES_ELIGIBLE
    # a clinician's override still works, and is recorded against the decisive screening
    overridden = record_session(service, patient, override={"reason": "benefit outweighs"})
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["screening_id"] == first


def test_a_front_desk_row_written_before_the_fix_does_not_clear_it(service: Service) -> None:
    """Rows stored by front desk before this fix stay in the database: they do not count."""
    patient, _ = not_eligible_patient(service)
    legacy = add_screening(service, patient, "eligible")
    # planted on purpose: no service lets front desk store this row any more
    with service.runtime.db.write() as session:
        row = session.get(Screening, legacy)
        assert row is not None
        row.created_by = user_ref(service, Role.front_desk)
        row.created_at = datetime.now(UTC) + timedelta(seconds=1)
    blocked = record_session(service, patient)
    assert blocked.status_code == 422, blocked.text
    assert blocked.json()["error"]["rule"] == REQUIRES_ELIGIBLE
