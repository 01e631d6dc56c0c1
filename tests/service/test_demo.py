"""The demo clinic `make run` loads: built through the real use cases, on both databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from needlewise import demo_history
from needlewise.demo import LOGINS, demo_ready, load_demo
from needlewise.persistence.db import Database
from needlewise.persistence.models import (
    AdverseEvent,
    Base,
    CheckIn,
    Patient,
    Provider,
    Screening,
    TreatmentSession,
    User,
)
from needlewise.services.runtime import Runtime
from needlewise.web.app import create_app
from support.http import ApiClient
from support.service import Service, settings_for


def count(db: Database, table: type[Base]) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_demo_loads_once_into_an_empty_database(service: Service) -> None:
    runtime: Runtime = service.runtime
    assert load_demo(runtime) is False  # the seeded test clinic exists: nothing is loaded
    assert demo_ready(runtime) is False


def test_demo_clinic_has_every_stage(database_url: str, valuesets_dir: Path) -> None:
    runtime = Runtime.build(settings_for(database_url, valuesets_dir))
    assert load_demo(runtime) is True
    assert demo_ready(runtime)
    assert load_demo(runtime) is False
    db = runtime.db
    # the five patients of the stages, then demo_history's synthetic past year
    assert count(db, Patient) == 5 + demo_history.PATIENTS
    assert count(db, User) == len(LOGINS)
    assert count(db, Provider) == 3
    assert count(db, TreatmentSession) == 2 + demo_history.SESSIONS
    assert count(db, AdverseEvent) == demo_history.MINOR_EVENTS + demo_history.SIGNIFICANT_EVENTS
    with db.read() as session:
        stages = select(Patient.id).where(Patient.family_name.not_like("Demo-History-%"))
        decisions = sorted(
            session.scalars(select(Screening.decision).where(Screening.patient_id.in_(stages)))
        )
        dispositions = sorted(
            session.scalars(select(CheckIn.disposition).where(CheckIn.patient_id.in_(stages)))
        )
        states = sorted(session.scalars(select(Provider.licence_state)))
        history = session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.patient_id.not_in(stages))
        )
    assert decisions == ["eligible", "eligible", "eligible", "not-eligible"]
    assert dispositions == ["emergency", "self-care"]
    assert history == len(demo_history.CHECK_INS)
    assert states == ["CO", "CO", "NY"]
    runtime.db.dispose()


def test_new_york_pt_cannot_be_the_needling_provider(
    database_url: str, valuesets_dir: Path
) -> None:
    app = create_app(settings_for(database_url, valuesets_dir))
    runtime: Runtime = app.state.runtime
    load_demo(runtime)  # the demo's clinic and logins, not the seeded test clinic
    client = ApiClient(app)
    ny = next(login for login in LOGINS if "newyork" in login.email)
    login = client.post("/api/auth/login", json={"email": ny.email, "password": ny.password})
    csrf = login.json()["csrf_token"]
    with runtime.db.read() as session:
        ready = session.scalar(select(Patient.id).where(Patient.family_name == "Demo-Ready"))
        provider = session.scalar(select(Provider.id).where(Provider.licence_state == "NY"))
    response = client.post(
        f"/api/patients/{ready}/sessions",
        headers={"x-csrf-token": csrf},
        json={
            "provider_id": provider,
            "performed_at": "2026-11-26T10:00:00+00:00",
            "electrical_stimulation": False,
            "muscles": [
                {"muscle": "muscle.gastrocnemius", "laterality": "left", "needle_count": 2}
            ],
        },
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "rule-violation"
    assert error["rule"] == "state.ny"
    client.close()
    runtime.db.dispose()


def test_demo_links_open_as_the_patient_would(database_url: str, valuesets_dir: Path) -> None:
    """`serve --demo` prints fresh links: each opens (its JSON twin answers who it is for),
    and a second start makes new ones that work too."""
    from needlewise.demo import demo_links

    runtime = Runtime.build(settings_for(database_url, valuesets_dir))
    assert demo_links(runtime) == []  # no demo loaded yet: nothing to link
    load_demo(runtime)
    first = demo_links(runtime)
    assert [link.label for link in first] == [
        "Ana (Spanish): health questions",
        "Ana (Spanish): consent",
        "Ben: after-treatment check-in",
    ]
    second = demo_links(runtime)
    assert {link.path for link in first}.isdisjoint(link.path for link in second)
    app = create_app(settings_for(database_url, valuesets_dir))
    with ApiClient(app) as client:
        for link, purpose in zip(second, ["intake", "consent", "check-in"], strict=True):
            answer = client.get(f"/api{link.path}")
            assert answer.status_code == 200, (link.label, answer.text)
            assert answer.json()["purpose"] == purpose
        assert client.get(f"/api{first[0].path}").json()["language"] == "es"
    runtime.db.dispose()


def test_demo_safety_record_shows_real_numbers(database_url: str, valuesets_dir: Path) -> None:
    """The demo's past year (``demo_history``, fixed seed) gives the safety record real
    rates: every session within the last 12 months, each adverse event counted."""
    from needlewise.security.roles import Role
    from needlewise.services.actor import Actor
    from needlewise.services.safety_report import safety_report

    runtime = Runtime.build(settings_for(database_url, valuesets_dir))
    assert load_demo(runtime) is True
    with runtime.db.read() as session:
        clinician = session.scalar(select(User).where(User.email == LOGINS[1].email))
    assert clinician is not None
    actor = Actor(
        ref=f"user:{clinician.id}", user_id=clinician.id, role=Role.clinician,
        clinic_id=clinician.clinic_id,
    )  # fmt: skip
    report = safety_report(runtime, actor)
    assert report.clinic.treatments == 2 + demo_history.SESSIONS
    assert report.clinic.minor_events == demo_history.MINOR_EVENTS
    assert report.clinic.significant_events == demo_history.SIGNIFICANT_EVENTS
    assert len(report.providers) == 2  # both Colorado PTs (New York may not needle)
    assert len(report.regions) >= 6
    runtime.db.dispose()
