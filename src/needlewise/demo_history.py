"""A past year of synthetic treatments for the demo clinic, so its safety record
(``/app/safety``) shows real numbers.

Not a use case: a loader (like :mod:`needlewise.demo`, which calls :func:`add_history`
once) that writes through the same use cases staff would call, so every rule applies
and every write is audited. Everything is synthetic: made-up patients named
"Demo-History-NN", no real person. It is deterministic: a fixed seed picks the days,
muscles and providers, so the demo shows the same counts every time it is loaded
(the dates are relative to the day it is loaded).

What it adds: a second Colorado physical therapist; :data:`PATIENTS` patients, each
screened and consented; :data:`SESSIONS` sessions spread over the past 11 months across
neck, upper back, shoulder, lower back, hip and leg muscles, shared between the two
Colorado providers; :data:`MINOR_EVENTS` minor adverse events and one significant one;
and a few check-ins (self-care and call-provider).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import select

from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import SessionMuscle
from needlewise.services import (
    adverse_events,
    check_in_review,
    check_ins,
    consents,
    patients,
    providers,
    sessions,
    stored_screenings,
)
from needlewise.services.actor import Actor
from needlewise.services.consent_models import ConsentIn
from needlewise.services.job_port import NoWorker
from needlewise.services.runtime import Runtime

SEED = 13
PATIENTS = 12
SESSIONS = 72
#: (risk id, severity, index into the sessions, hours after the session)
MINOR: tuple[tuple[str, adverse_events.Severity, int, int], ...] = (
    ("risk.bruising", "mild", 3, 6),
    ("risk.bleeding", "mild", 11, 0),
    ("risk.pain-after", "mild", 19, 20),
    ("risk.aggravation", "moderate", 30, 30),
    ("risk.drowsiness", "mild", 41, 2),
    ("risk.bruising", "mild", 55, 10),
    ("risk.fainting", "moderate", 63, 0),
)
MINOR_EVENTS = len(MINOR)
SIGNIFICANT_EVENTS = 1
#: what patients reported after some sessions: (session index, symptoms)
CHECK_INS = (
    (5, ["symptom.soreness"]),
    (14, ["symptom.soreness"]),
    (27, ["symptom.site-redness"]),
    (38, ["symptom.soreness"]),
    (49, ["symptom.soreness-prolonged"]),
    (66, ["symptom.soreness"]),
)
#: muscle sets by the region they needle (muscles.yaml)
MUSCLES = (
    ("muscle.upper-trapezius", "muscle.levator-scapulae"),  # neck
    ("muscle.rhomboids", "muscle.middle-trapezius"),  # upper back
    ("muscle.infraspinatus",),  # shoulder
    ("muscle.lumbar-paraspinals", "muscle.quadratus-lumborum"),  # lower back
    ("muscle.gluteus-medius", "muscle.piriformis"),  # hip
    ("muscle.gastrocnemius", "muscle.hamstrings"),  # leg
)
GIVEN = ("Ada", "Bo", "Cruz", "Dana", "Eli", "Fe", "Gus", "Hana", "Ivo", "Jo", "Kai", "Luz")


def add_history(
    runtime: Runtime,
    admin: Actor,
    clinician: Actor,
    front: Actor,
    provider_id: int,
    signature: str,
) -> None:
    """Add the synthetic past year to the demo clinic (``provider_id``: the demo's
    Colorado PT; a second one is created here; ``signature``: the demo's drawn line, a
    PNG data URL, for the consents)."""
    # history wakes no worker, and its check-ins were seen long ago (acknowledged below),
    # so the demo's alert address only hears about the demo's own emergency
    runtime = replace(runtime, jobs=NoWorker())
    rng = random.Random(SEED)  # noqa: S311 - synthetic demo data, not a secret
    second = providers.create_provider(
        runtime,
        admin,
        providers.ProviderIn(
            name="Demo PT 2 (Colorado)", profession="pt", licence_state="CO",
            licence_number="PT-DEMO-3", training_hours=27, training_date=date(2025, 1, 15),
        ),
    ).id  # fmt: skip
    people: list[int] = []
    for n in range(PATIENTS):
        name = f"{GIVEN[n]} Demo-History-{n + 1:02d}"
        given, family = name.split(" ")
        pid = patients.create_patient(
            runtime,
            front,
            patients.PatientIn(
                given_name=given, family_name=family, birth_date=date(1950 + 4 * n, 1 + n, 10),
                preferred_language="es" if n % 3 == 0 else "en",
            ),
        ).id  # fmt: skip
        stored_screenings.create_screening(
            runtime, front, pid, answered_intake(runtime.kb), electrical_stimulation=False
        )
        consents.sign_consent(
            runtime,
            clinician,
            pid,
            ConsentIn(
                language="en", typed_name=name, signature_png=signature,
                signer_role="patient", signer_name=name,
            ),
        )  # fmt: skip
        people.append(pid)
    now = utcnow()
    days = sorted((rng.randint(8, 335) for _ in range(SESSIONS)), reverse=True)
    treated: list[tuple[int, int, datetime]] = []
    for i, days_ago in enumerate(days):
        patient_id = people[rng.randrange(PATIENTS)]
        muscles: tuple[str, ...] = MUSCLES[rng.randrange(len(MUSCLES))]
        if rng.random() < 0.25:  # some sessions needle a second region
            muscles = muscles + MUSCLES[rng.randrange(len(MUSCLES))]
        when = now - timedelta(days=days_ago, hours=rng.randint(0, 6))
        session = sessions.create_session(
            runtime,
            clinician,
            patient_id,
            sessions.SessionIn(
                provider_id=provider_id if i % 5 < 3 else second,
                performed_at=when,
                muscles=[
                    sessions.SessionMuscleIn(
                        muscle=m, laterality="left" if rng.random() < 0.5 else "right",
                        needle_count=rng.randint(1, 3), gauge="0.25 mm", length_mm=30,
                    )
                    for m in dict.fromkeys(muscles)
                ],
                technique="Trigger point dry needling", electrical_stimulation=False,
                retention_seconds=60, payer="commercial",
            ),
        )  # fmt: skip
        treated.append((session.id, patient_id, when))
    for risk, severity, index, hours in MINOR:
        _event(runtime, clinician, treated[index], risk, severity, False, hours)
    # the one significant event: after an upper-back session, seen in hospital, resolved
    upper_back = next(t for t in treated if t[0] in _sessions_with(runtime, "muscle.rhomboids"))
    _event(runtime, clinician, upper_back, "risk.pneumothorax", "moderate", True, 5)
    for index, symptoms in CHECK_INS:
        session_id, patient_id, _when = treated[index]
        stored = check_ins.record_check_in(
            runtime,
            front,
            patient_id,
            {"symptoms": symptoms, "language": "en"},
            session_id=session_id,
        )
        if stored.disposition != "self-care":
            check_in_review.acknowledge_check_in(runtime, clinician, stored.id, stored.version)


def _event(
    runtime: Runtime,
    clinician: Actor,
    treated: tuple[int, int, datetime],
    risk: str,
    severity: adverse_events.Severity,
    serious: bool,
    hours: int,
) -> None:
    session_id, patient_id, when = treated
    onset = when + timedelta(hours=hours)
    adverse_events.create_adverse_event(
        runtime,
        clinician,
        patient_id,
        adverse_events.AdverseEventIn(
            session_id=session_id,
            event_type=risk,
            severity=severity,
            serious=serious,
            outcome="resolved",
            onset_at=onset,
            resolved_at=onset + timedelta(days=3),
        ),
    )


def _sessions_with(runtime: Runtime, muscle: str) -> set[int]:
    with runtime.db.read() as tx:
        return set(
            tx.scalars(select(SessionMuscle.session_id).where(SessionMuscle.muscle == muscle))
        )
