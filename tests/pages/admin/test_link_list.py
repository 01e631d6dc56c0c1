"""The staff's list of a patient's links (``services/link_list.py``): each link's status,
newest first, scoped to the clinic, audited, and never with its token; and the audit
log's record-type and until filters the audit page uses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from needlewise.errors import NotFound
from needlewise.persistence.models import PatientLink
from needlewise.security.roles import Role
from needlewise.services import audit, links
from needlewise.services.link_list import patient_links, status_of
from needlewise.services.paging import PageParams
from support.audit import entries_after, last_id
from support.service import Service
from support.treatment import make_patient

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def link(purpose: str, **times: datetime | None) -> PatientLink:
    values: dict[str, object] = {"expires_at": NOW + timedelta(hours=1), **times}
    return PatientLink(patient_id=1, purpose=purpose, created_by="user:1", **values)


@pytest.mark.parametrize(
    ("made", "status"),
    [
        (link("intake"), "open"),
        (link("intake", used_at=NOW), "used"),
        (link("check-in", used_at=NOW), "open"),  # a check-in link works until it expires
        (link("consent", expires_at=NOW), "expired"),
        (link("consent", used_at=NOW, revoked_at=NOW), "revoked"),
        (link("check-in", expires_at=NOW - timedelta(days=1), revoked_at=NOW), "revoked"),
    ],
)
def test_status_of_a_link(made: PatientLink, status: str) -> None:
    assert status_of(made, NOW) == status


def test_a_patients_links_newest_first_audited_without_tokens(service: Service) -> None:
    front = service.actor(Role.front_desk)
    patient = make_patient(service, "Mina")
    other = make_patient(service, "Noor")
    first = links.create_link(service.runtime, front, patient, links.LinkIn(purpose="intake"))
    second = links.create_link(service.runtime, front, patient, links.LinkIn(purpose="consent"))
    links.create_link(service.runtime, front, other, links.LinkIn(purpose="intake"))
    links.revoke_link(service.runtime, front, first.id)
    before = last_id(service)
    rows = patient_links(service.runtime, front, patient)
    assert [(r.id, r.status) for r in rows] == [(second.id, "open"), (first.id, "revoked")]
    assert all(first.token not in r.model_dump_json() for r in rows)
    reads = entries_after(service, before)
    assert sorted((e["action"], e["resource_type"], e["resource_id"], e["patient_id"])
                  for e in reads) == sorted(
        ("read", "patient-link", str(r.id), patient) for r in rows
    )  # fmt: skip


def test_another_clinics_patient_has_no_links_to_show(service: Service) -> None:
    patient = make_patient(service, "Oda")
    stranger = replace(service.actor(Role.front_desk), clinic_id=999)
    with pytest.raises(NotFound):
        patient_links(service.runtime, stranger, patient)


def test_the_audit_log_filters_by_record_type_and_until(service: Service) -> None:
    make_patient(service, "Pia")
    admin = service.actor(Role.admin)
    page = PageParams(limit=100)
    patients = audit.list_entries(service.runtime.db, admin, page, resource_type="patient")
    assert patients.total >= 1
    assert {e.resource_type for e in patients.items} == {"patient"}
    everything = audit.list_entries(service.runtime.db, admin, page)
    assert patients.total < everything.total
    old = audit.list_entries(
        service.runtime.db,
        admin,
        page,
        until=datetime(2000, 1, 1),  # no zone: UTC
    )
    assert old.total == 0
    newest = everything.items[0].at
    up_to = audit.list_entries(service.runtime.db, admin, page, until=newest)
    assert all(e.at < newest for e in up_to.items)
