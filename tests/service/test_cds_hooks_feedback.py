"""CDS Hooks feedback and JWT-id replay (services/cds_hooks.py, services/jwt_replay.py) on
real databases (SQLite and PostgreSQL): feedback stored per card with its override
reason, refused (and nothing stored, no JWT id spent) for cards we did not issue to this
clinic and service; a JWT id used twice is refused and the second call writes nothing,
also within a burst of concurrent calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from needlewise.errors import InputError, NotFound, Unauthorized
from needlewise.persistence.models import AuditEntry, CdsCard, CdsFeedback, UsedJwtId
from needlewise.services.cds_hooks import record_feedback
from needlewise.services.jwt_replay import claim_jwt_id, purge_expired
from support import cds
from support.cds import JSON
from support.cds_env import (
    OVERRIDE,
    SELECT,
    SIGN,
    CdsEnv,
    answer,
    count,
    new_clinic,
    select_body,
    synthea,
)


@pytest.fixture
def service(database_url: str, valuesets_dir: Path) -> Iterator[CdsEnv]:
    yield from CdsEnv.fresh(database_url, valuesets_dir)


# ---------------------------------------------------------------- JWT replay


def test_a_replayed_jwt_is_refused_and_stores_nothing(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    caller = cds.caller(service.clinic_id)
    answer(service, SELECT, select_body(patient_id, prefetch), caller=caller)
    cards, audits = count(service, CdsCard), count(service, AuditEntry)
    with pytest.raises(Unauthorized):
        answer(service, SELECT, select_body(patient_id, prefetch), caller=caller)
    assert (count(service, CdsCard), count(service, AuditEntry)) == (cards, audits)
    other_issuer = cds.caller(service.clinic_id, client="https://other.example", jti=caller.jti)
    answer(
        service, SELECT, select_body(patient_id, prefetch), caller=other_issuer
    )  # ids are per issuer


def test_an_expired_jwt_id_may_be_seen_again(service: CdsEnv, conformance_dir: Path) -> None:
    """A row whose token expired is no replay (the door refuses expired tokens anyway)."""
    patient_id, prefetch = synthea(conformance_dir, "Trey_Gibson")
    with service.runtime.db.write() as tx:
        tx.add(
            UsedJwtId(
                issuer="https://ehr.example.org",
                jti="j-1",
                expires_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
    answer(
        service,
        SELECT,
        select_body(patient_id, prefetch),
        caller=cds.caller(service.clinic_id, jti="j-1"),
    )
    with service.runtime.db.read() as tx:
        (row,) = tx.scalars(select(UsedJwtId)).all()
        assert row.expires_at.replace(tzinfo=UTC) > datetime.now(UTC)


def test_concurrent_calls_share_commits_and_a_replay_among_them_is_refused(
    service: CdsEnv, conformance_dir: Path
) -> None:
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    callers = [cds.caller(service.clinic_id) for _ in range(15)]
    callers.append(callers[0])  # one replay in the burst
    outcomes: list[object] = [None] * len(callers)

    def call(i: int) -> None:
        try:
            outcomes[i] = answer(
                service, SELECT, select_body(patient_id, prefetch), caller=callers[i]
            )
        except Unauthorized as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(callers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [o for o in outcomes if isinstance(o, Unauthorized)]
    assert len(refused) == 1
    assert count(service, UsedJwtId) == 15
    assert count(service, CdsCard) == 15 * 2


# ---------------------------------------------------------------- feedback


def _issue(service: CdsEnv, conformance_dir: Path) -> JSON:
    patient_id, prefetch = synthea(conformance_dir, "Aleta_Wintheiser")
    return answer(service, SELECT, select_body(patient_id, prefetch))


def test_feedback_is_stored_with_override_reasons(service: CdsEnv, conformance_dir: Path) -> None:
    cards = _issue(service, conformance_dir)["cards"]
    reason = cards[0]["overrideReasons"][0]
    body = {
        "feedback": [
            {
                "card": cards[0]["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": reason, "userComment": "Discussed with the patient."},
                "outcomeTimestamp": "2026-12-07T10:00:00Z",
            },
            {
                "card": cards[1]["uuid"],
                "outcome": "accepted",
                "outcomeTimestamp": "2026-12-07T10:01:00Z",
            },
        ]
    }
    stored = record_feedback(service.runtime, SELECT, body, cds.caller(service.clinic_id))
    assert stored == 2
    with service.runtime.db.read() as tx:
        rows = tx.scalars(select(CdsFeedback).order_by(CdsFeedback.id)).all()
        assert [(r.card_uuid, r.outcome) for r in rows] == [
            (cards[0]["uuid"], "overridden"),
            (cards[1]["uuid"], "accepted"),
        ]
        assert (rows[0].override_system, rows[0].override_code) == (OVERRIDE, reason["code"])
        assert rows[0].override_display == reason["display"]
        assert rows[0].user_comment == "Discussed with the patient."
        assert rows[1].override_code is None
        assert rows[0].clinic_id == service.clinic_id
        entry = tx.scalars(
            select(AuditEntry).where(AuditEntry.resource_type == "cds-feedback")
        ).one()
        assert entry.resource_id == cards[0]["uuid"]


@pytest.mark.parametrize(
    ("change", "error", "where"),
    [
        (
            lambda f, c: f.update(card="3c1b5a0e-0000-4000-8000-000000000000"),
            NotFound,
            "$.feedback[0].card",
        ),
        (lambda f, c: f.update(outcome="ignored"), InputError, "$.feedback[0].outcome"),
        (lambda f, c: f.pop("outcomeTimestamp"), InputError, "$.feedback[0].outcomeTimestamp"),
        (
            lambda f, c: f.update(outcomeTimestamp="2026-12-07T10:00:00"),
            InputError,
            "$.feedback[0].outcomeTimestamp",
        ),
        (
            lambda f, c: f.update(
                overrideReason={"reason": {"system": OVERRIDE, "code": "made-up"}}
            ),
            InputError,
            "$.feedback[0].overrideReason.reason",
        ),
    ],
)
def test_bad_feedback_is_refused_and_stores_nothing(
    service: CdsEnv, conformance_dir: Path, change: Any, error: type[Exception], where: str
) -> None:
    cards = _issue(service, conformance_dir)["cards"]
    item: JSON = {
        "card": cards[0]["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-12-07T10:00:00Z",
    }
    change(item, cards)
    spent = count(service, UsedJwtId)
    with pytest.raises(error) as caught:
        record_feedback(
            service.runtime, SELECT, {"feedback": [item]}, cds.caller(service.clinic_id)
        )
    refused = caught.value
    if isinstance(refused, InputError):
        assert refused.where == where
    else:
        assert isinstance(refused, NotFound)
        assert refused.detail["location"] == where
    assert count(service, CdsFeedback) == 0
    assert count(service, UsedJwtId) == spent  # the refused call did not spend its JWT id


def test_feedback_on_another_service_or_clinic_is_not_found(
    service: CdsEnv, conformance_dir: Path
) -> None:
    cards = _issue(service, conformance_dir)["cards"]
    item = {
        "card": cards[0]["uuid"],
        "outcome": "accepted",
        "outcomeTimestamp": "2026-12-07T10:00:00Z",
    }
    with pytest.raises(NotFound):
        record_feedback(service.runtime, SIGN, {"feedback": [item]}, cds.caller(service.clinic_id))
    other = new_clinic(service.runtime, "Other Clinic")
    with pytest.raises(NotFound):
        record_feedback(service.runtime, SELECT, {"feedback": [item]}, cds.caller(other))
    assert count(service, CdsFeedback) == 0


def test_replayed_feedback_is_refused(service: CdsEnv, conformance_dir: Path) -> None:
    cards = _issue(service, conformance_dir)["cards"]
    body = {
        "feedback": [
            {
                "card": cards[0]["uuid"],
                "outcome": "accepted",
                "outcomeTimestamp": "2026-12-07T10:00:00Z",
            }
        ]
    }
    caller = cds.caller(service.clinic_id)
    assert record_feedback(service.runtime, SELECT, body, caller) == 1
    with pytest.raises(Unauthorized):
        record_feedback(service.runtime, SELECT, body, caller)
    assert count(service, CdsFeedback) == 1


def test_claim_and_purge(service: CdsEnv) -> None:
    """claim_jwt_id in a caller's own transaction; purge_expired drops only expired ids."""
    caller = cds.caller(service.clinic_id, jti="j-live")
    with service.runtime.db.write() as tx:
        claim_jwt_id(tx, caller)
        tx.add(UsedJwtId(issuer="i", jti="j-old", expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
    with pytest.raises(Unauthorized), service.runtime.db.write() as tx:
        claim_jwt_id(tx, caller)
    with service.runtime.db.write() as tx:
        assert purge_expired(tx) == 1
    with service.runtime.db.read() as tx:
        assert tx.scalars(select(UsedJwtId.jti)).all() == ["j-live"]


def test_a_jwt_id_longer_than_the_column_is_kept_by_its_hash(service: CdsEnv) -> None:
    long_id = "j" * 1000
    caller = cds.caller(service.clinic_id, jti=long_id)
    with service.runtime.db.write() as tx:
        claim_jwt_id(tx, caller)
    with pytest.raises(Unauthorized), service.runtime.db.write() as tx:
        claim_jwt_id(tx, caller)
    with service.runtime.db.read() as tx:
        (stored,) = tx.scalars(select(UsedJwtId.jti)).all()
    assert stored.startswith("sha256:")
    assert len(stored) <= 255


def test_the_stored_override_display_is_ours(service: CdsEnv, conformance_dir: Path) -> None:
    cards = _issue(service, conformance_dir)["cards"]
    reason = {**cards[0]["overrideReasons"][0], "display": "x" * 400}
    item = {
        "card": cards[0]["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": reason},
        "outcomeTimestamp": "2026-12-07T10:00:00+01:00",
    }
    record_feedback(service.runtime, SELECT, {"feedback": [item]}, cds.caller(service.clinic_id))
    with service.runtime.db.read() as tx:
        (row,) = tx.scalars(select(CdsFeedback)).all()
    assert row.override_display == cards[0]["overrideReasons"][0]["display"]
    assert row.outcome_timestamp.astimezone(UTC) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
