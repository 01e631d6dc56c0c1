"""The decisive screening (services/decisive_screening.py), rule by rule, on both
databases: which of a patient's stored screenings the session rules decide on.

Rules (module docstring): (1) no screening, none; (2) the latest not-eligible screening
stays decisive until a clinician of the patient's clinic enters a screening after it;
(3) otherwise the latest screening. Each row is a sequence of stored screenings
(decision, who entered it), oldest first, and the expected outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from needlewise.persistence.models import Screening, User
from needlewise.security.roles import Role
from needlewise.services.decisive_screening import (
    clearing_needs_clinician,
    decisive_screening,
    user_id_of,
)
from support.service import Service, seed_clinic
from support.treatment import make_patient

NE, REVIEW, OK = "not-eligible", "review", "eligible"
#: who entered a screening: a role of the seeded clinic, the patient's link, the system,
#: or a clinician of another clinic
C, F, A, LINK, SYSTEM, OTHER = "clinician", "front-desk", "admin", "link", "system", "other"


@dataclass(frozen=True)
class Case:
    rule: str
    rows: tuple[tuple[str, str], ...]
    decisive: int | None  # index into rows
    why: str | None = None
    clears: int | None = None
    not_counted: tuple[int, ...] = ()


CASES = [
    Case("1: no screening", (), None),
    Case("3: latest, none not-eligible", ((OK, F),), 0, "latest"),
    Case("3: latest, front desk changes review", ((REVIEW, C), (OK, F)), 1, "latest"),
    Case("3: latest, the patient's own intake", ((REVIEW, F), (OK, LINK)), 1, "latest"),
    Case("2: a lone not-eligible", ((NE, F),), 0, "not-eligible-stands"),
    Case("2: front desk eligible after", ((NE, C), (OK, F)), 0, "not-eligible-stands", None, (1,)),
    Case(
        "2: front desk review after", ((NE, C), (REVIEW, F)), 0, "not-eligible-stands", None, (1,)
    ),
    Case("2: admin eligible after", ((NE, C), (OK, A)), 0, "not-eligible-stands", None, (1,)),
    Case("2: patient's link after", ((NE, C), (OK, LINK)), 0, "not-eligible-stands", None, (1,)),
    Case("2: system after", ((NE, C), (OK, SYSTEM)), 0, "not-eligible-stands", None, (1,)),
    Case(
        "2: another clinic's clinician",
        ((NE, C), (OK, OTHER)),
        0,
        "not-eligible-stands",
        None,
        (1,),
    ),
    Case(
        "2: several that do not count",
        ((NE, C), (OK, F), (REVIEW, LINK), (OK, A)),
        0,
        "not-eligible-stands",
        None,
        (1, 2, 3),
    ),
    Case("2: an older eligible does not hide it", ((OK, C), (NE, LINK)), 1, "not-eligible-stands"),
    Case("2: the latest not-eligible of two", ((NE, C), (NE, F)), 1, "not-eligible-stands"),
    Case("2+3: a clinician clears it", ((NE, F), (OK, C)), 1, "cleared-by-clinician", 0),
    Case(
        "2+3: a clinician's review clears it", ((NE, F), (REVIEW, C)), 1, "cleared-by-clinician", 0
    ),
    Case(
        "2+3: after a clinician, the latest",
        ((NE, C), (OK, C), (REVIEW, F)),
        2,
        "cleared-by-clinician",
        0,
    ),
    Case(
        "2+3: a clinician after the patient's intake",
        ((NE, C), (OK, LINK), (REVIEW, C)),
        2,
        "cleared-by-clinician",
        0,
    ),
    Case(
        "2: a new not-eligible after a clearing",
        ((NE, C), (OK, C), (NE, F), (OK, F)),
        2,
        "not-eligible-stands",
        None,
        (3,),
    ),
]


def ref_of(service: Service, who: str, other_clinician: int) -> str:
    if who == LINK:
        return "link:7"
    if who == SYSTEM:
        return "system"
    if who == OTHER:
        return f"user:{other_clinician}"
    return f"user:{service.users[Role(who)].id}"


def other_clinician(service: Service) -> int:
    """A clinician of a second clinic sharing the database."""
    other = seed_clinic(service.runtime, "Second Synthetic Clinic", domain="second.example")
    return other.users[Role.clinician].id


def store(service: Service, patient: int, rows: tuple[tuple[str, str], ...]) -> list[int]:
    other = other_clinician(service) if any(who == OTHER for _, who in rows) else 0
    start = datetime.now(UTC) - timedelta(days=10)
    stamp = service.runtime.kb.stamp
    ids = []
    # Planted rows, not create_screening: the rule must also decide on rows no service
    # writes today (front desk or the system changing a not-eligible decision, as before
    # issue 9's fix; another clinic's clinician), at exact times an hour apart.
    with service.runtime.db.write() as session:
        for i, (decision, who) in enumerate(rows):
            row = Screening(
                patient_id=patient,
                decision=decision,
                inputs={"synthetic": True},
                result={"decision": decision},
                electrical_stimulation=None,
                knowledge_version=stamp.version,
                knowledge_sha256=stamp.sha256,
                value_sets_sha256=stamp.value_sets_sha256,
                created_by=ref_of(service, who, other),
                created_at=start + timedelta(hours=i),
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.rule)
def test_decisive_screening(service: Service, case: Case) -> None:
    patient = make_patient(service)
    ids = store(service, patient, case.rows)
    with service.runtime.db.read() as session:
        found = decisive_screening(session, patient)
        if case.decisive is None:
            assert found is None
            return
        assert found is not None
        assert found.screening.id == ids[case.decisive], case.rule
        assert found.why == case.why
        assert found.clears == (None if case.clears is None else ids[case.clears])
        assert found.not_counted == tuple(ids[i] for i in case.not_counted)
        assert found.blocks == (case.rows[case.decisive][0] == NE)
        assert found.text  # words for the API and the session rule's message


def test_a_demoted_clinician_no_longer_clears(service: Service) -> None:
    """The role is read now: demoting the clinician who cleared it brings the not-eligible
    screening back (the safe direction: a clinician screens again)."""
    patient = make_patient(service)
    ids = store(service, patient, ((NE, F), (OK, C)))
    with service.runtime.db.read() as session:
        cleared = decisive_screening(session, patient)
        assert cleared is not None
        assert cleared.screening.id == ids[1]
    with service.runtime.db.write() as session:
        user = session.get(User, service.users[Role.clinician].id)
        assert user is not None
        user.role = Role.front_desk.value
    with service.runtime.db.read() as session:
        stands = decisive_screening(session, patient)
        assert stands is not None
        assert stands.screening.id == ids[0]


def test_same_time_orders_by_id(service: Service) -> None:
    patient = make_patient(service)
    ids = store(service, patient, ((NE, F), (OK, C)))
    with service.runtime.db.write() as session:
        first, second = session.get(Screening, ids[0]), session.get(Screening, ids[1])
        assert first is not None
        assert second is not None
        second.created_at = first.created_at
    with service.runtime.db.read() as session:
        found = decisive_screening(session, patient)
        assert found is not None
        assert found.screening.id == ids[1]


@pytest.mark.parametrize(
    ("rows", "role", "decision", "needs"),
    [
        ((), Role.front_desk, OK, False),
        (((REVIEW, C),), Role.front_desk, OK, False),
        (((NE, C),), Role.front_desk, OK, True),
        (((NE, C),), Role.front_desk, REVIEW, True),
        (((NE, C),), Role.admin, OK, True),
        (((NE, C),), Role.front_desk, NE, False),
        (((NE, C),), Role.clinician, OK, False),
        (((NE, C), (OK, C)), Role.front_desk, OK, False),
        (((NE, C), (OK, LINK)), Role.front_desk, OK, True),
        (((NE, C), (OK, LINK)), None, OK, True),  # a patient link's intake: no role
    ],
)
def test_storing_a_screening_that_changes_not_eligible_needs_a_clinician(
    service: Service,
    rows: tuple[tuple[str, str], ...],
    role: Role | None,
    decision: str,
    needs: bool,
) -> None:
    patient = make_patient(service)
    ids = store(service, patient, rows)
    with service.runtime.db.read() as session:
        standing = clearing_needs_clinician(session, role, patient, decision)
    if needs:
        assert standing is not None
        assert standing.id == ids[0]
    else:
        assert standing is None


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("user:12", 12), ("link:12", None), ("system", None), ("user:", None), ("user:x1", None)],
)
def test_user_id_of(ref: str, expected: int | None) -> None:
    assert user_id_of(ref) == expected
