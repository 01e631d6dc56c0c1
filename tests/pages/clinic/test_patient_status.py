"""The today list's service: each patient's decisive screening and consent in force, only
for the caller's clinic, every screening and consent named audited as a read."""

from __future__ import annotations

from needlewise.security.roles import Role
from needlewise.services.patient_status import patient_statuses
from support.audit import entries_after, last_id
from support.service import Service
from support.treatment import add_consent, add_screening, make_patient


def test_statuses_follow_the_session_rules_and_are_audited(service: Service) -> None:
    ready = make_patient(service, "Ready")
    screening = add_screening(service, ready, "review")
    consent = add_consent(service, ready)
    withdrawn = make_patient(service, "Withdrawn")
    add_screening(service, withdrawn, "eligible")
    add_consent(service, withdrawn, withdrawn=True)
    fresh = make_patient(service, "Fresh")
    before = last_id(service)
    found = patient_statuses(
        service.runtime, service.actor(Role.front_desk), [ready, withdrawn, fresh, 999_999]
    )
    assert sorted(found) == sorted([ready, withdrawn, fresh])  # another clinic's: left out
    assert (found[ready].decision, found[ready].screening_id) == ("review", screening)
    assert (found[ready].consent, found[ready].consent_id) == ("signed", consent)
    assert found[ready].ready
    assert found[withdrawn].consent == "withdrawn"
    assert not found[withdrawn].ready
    assert (found[fresh].decision, found[fresh].consent) == (None, "none")
    reads = [
        (e["resource_type"], e["patient_id"])
        for e in entries_after(service, before)
        if e["action"] == "read"
    ]
    assert sorted(reads) == sorted(
        [("screening", ready), ("screening", withdrawn), ("consent", ready), ("consent", withdrawn)]
    )
