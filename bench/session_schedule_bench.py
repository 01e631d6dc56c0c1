"""The cost of recording a session with its check-in schedule next to recording it without.

In process, no HTTP: :func:`needlewise.services.sessions.create_session` is called
directly, as the API does. A fresh database gets a clinic with one clinician (a
Colorado PT); two patients are screened and consented; one of them has opted out of
check-ins (``services/aftercare_schedule.py``: nothing is scheduled for them, the
session is otherwise recorded exactly the same — rules, coding, audit, commit). Each
round records ``--sessions`` sessions for each patient, alternating, so both see the
same machine; the session needles two near-lung muscles, so the scheduled one writes a
link and 10 messages (5 invitations, 5 reminders).

Prints, per database, the median over rounds of the milliseconds per session with and
without the schedule and the median of the per-round ratios.

Run: ``.venv/bin/python bench/session_schedule_bench.py [--rounds 3] [--sessions 40]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]``. With
``--postgres`` a temporary database is created on that server and dropped afterwards.
Synthetic data only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from statistics import median

from sqlalchemy import create_engine, text

from needlewise.config import Settings
from needlewise.demo import signature_png
from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.persistence.db import utcnow
from needlewise.security.roles import Role
from needlewise.services import (
    check_in_opt_out,
    consents,
    patients,
    providers,
    sessions,
    stored_screenings,
)
from needlewise.services.actor import Actor
from needlewise.services.clinic import ClinicIn, create_clinic
from needlewise.services.consent_models import ConsentIn
from needlewise.services.runtime import Runtime
from needlewise.services.users import UserIn, create_user
from needlewise.startup import start

MUSCLES = ["muscle.upper-trapezius", "muscle.levator-scapulae"]
PASSWORD = "bench horse battery staple"


def clinician(runtime: Runtime) -> tuple[Actor, int]:
    """A new clinic with one clinician who is a Colorado PT: (the actor, provider id)."""
    clinic_id = create_clinic(runtime, ClinicIn(name="Bench Clinic", phones=["555-0100"]))
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
    user = create_user(
        runtime,
        system,
        UserIn(email="pt@bench.example", name="Bench PT", role=Role.clinician, password=PASSWORD),
    )
    actor = Actor(ref=f"user:{user.id}", user_id=user.id, role=Role.clinician, clinic_id=clinic_id)
    provider = providers.create_provider(
        runtime,
        Actor(ref="system", role=Role.admin, clinic_id=clinic_id),
        providers.ProviderIn(
            name="Bench PT", profession="pt", licence_state="CO", licence_number="PT-BENCH-1"
        ),
    )
    return actor, provider.id


def ready(runtime: Runtime, actor: Actor, given: str) -> int:
    patient = patients.create_patient(
        runtime,
        actor,
        patients.PatientIn(given_name=given, family_name="Bench", email=f"{given}@example.org"),
    ).id
    stored_screenings.create_screening(
        runtime, actor, patient, answered_intake(runtime.kb), electrical_stimulation=False
    )
    consents.sign_consent(
        runtime,
        actor,
        patient,
        ConsentIn(
            language="en",
            typed_name=given,
            signature_png=signature_png(),
            signer_role="patient",
            signer_name=given,
        ),
    )
    return patient


def body(provider_id: int) -> sessions.SessionIn:
    return sessions.SessionIn(
        provider_id=provider_id,
        performed_at=utcnow() - timedelta(minutes=30),
        muscles=[
            sessions.SessionMuscleIn(muscle=m, laterality="left", needle_count=2) for m in MUSCLES
        ],
        electrical_stimulation=False,
    )


def measure(url: str, rounds: int, count: int) -> tuple[float, float, float]:
    """(ms per session with the schedule, without, median ratio)."""
    runtime = start(Settings(database_url=url, secret_key="bench-secret-key"))
    try:
        actor, provider = clinician(runtime)
        scheduled = ready(runtime, actor, "Scheduled")
        opted_out = ready(runtime, actor, "Optedout")
        check_in_opt_out.set_opt_out(runtime, actor, opted_out, True)
        for patient in (scheduled, opted_out):  # warm up both paths
            sessions.create_session(runtime, actor, patient, body(provider))
        with_ms: list[float] = []
        without_ms: list[float] = []
        for _ in range(rounds):
            spent = {scheduled: 0.0, opted_out: 0.0}
            for _ in range(count):
                for patient in (scheduled, opted_out):
                    data = body(provider)
                    began = time.perf_counter()
                    out = sessions.create_session(runtime, actor, patient, data)
                    spent[patient] += time.perf_counter() - began
                    assert out.check_in_schedule is not None
            with_ms.append(spent[scheduled] / count * 1000)
            without_ms.append(spent[opted_out] / count * 1000)
        ratios = [w / o for w, o in zip(with_ms, without_ms, strict=True)]
        return median(with_ms), median(without_ms), median(ratios)
    finally:
        runtime.db.dispose()


def postgres_database(server: str) -> tuple[str, str]:
    name = f"nw_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres(server: str, name: str) -> None:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=40, help="per patient per round")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (also measure there)")
    args = parser.parse_args()
    results: list[tuple[str, tuple[float, float, float]]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        results.append(("sqlite", measure(url, args.rounds, args.sessions)))
    if args.postgres:
        url, name = postgres_database(args.postgres)
        try:
            results.append(("postgresql", measure(url, args.rounds, args.sessions)))
        finally:
            drop_postgres(args.postgres, name)
    print(f"{args.rounds} rounds x {args.sessions} sessions per patient")
    print(f"{'database':<12}{'with (ms)':>11}{'without (ms)':>14}{'ratio':>8}")
    for backend, (with_ms, without_ms, ratio) in results:
        print(f"{backend:<12}{with_ms:>11.2f}{without_ms:>14.2f}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
