"""A small history with a known safety record, written through the use cases.

The clinic is in America/Denver and the report runs at :data:`NOW` (15 June 2026, noon
UTC): its default period is 16 June 2025 to 15 June 2026, Denver dates. Sessions:

====  ========  =======  ==================================  ======================
id    provider  patient  muscles (region)                    when (UTC → Denver)
====  ========  =======  ==================================  ======================
s1    P1        A        upper trapezius (neck)              2026-05-01 in
s2    P1        A        upper trapezius + rhomboids         2026-03-10 in
                         (neck, upper back)
s3    P2        B        lumbar paraspinals (lower back)     2026-01-05 in
s4    P2        B        gastrocnemius (lower leg)           2025-09-20 in
s5    P1        B        levator scapulae (neck)             2025-06-16 05:00 UTC =
                                                             06-15 23:00 Denver: out
s6    P1        A        infraspinatus (shoulder)            2025-06-16 07:00 UTC =
                                                             06-16 01:00 Denver: in
s7    P2        A        upper trapezius (neck)              2024-12-01 out
====  ========  =======  ==================================  ======================

Adverse events: s1 bruising + bleeding (two minor events, one treatment); s2
pneumothorax, serious (significant); s3 aggravation, severe and not serious
(significant by severity); s5 bruising (outside the period); one minor event of patient
A with no session (onset 2026-02-01: unlinked). Check-ins: s2 chest pain (emergency);
s3 prolonged soreness twice (call-provider, one treatment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from needlewise.persistence.models import Clinic
from needlewise.security.roles import Role
from needlewise.services import adverse_events, check_ins, sessions
from needlewise.services.adverse_events import Severity
from support.service import Service
from support.treatment import add_consent, add_screening, make_patient, make_provider

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
ZONE = "America/Denver"


@dataclass(frozen=True)
class History:
    p1: int
    p2: int
    sessions: dict[str, int]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


PLAN = {
    "s1": ("p1", "A", ["muscle.upper-trapezius"], "2026-05-01T15:00"),
    "s2": ("p1", "A", ["muscle.upper-trapezius", "muscle.rhomboids"], "2026-03-10T16:00"),
    "s3": ("p2", "B", ["muscle.lumbar-paraspinals"], "2026-01-05T17:00"),
    "s4": ("p2", "B", ["muscle.gastrocnemius"], "2025-09-20T18:00"),
    "s5": ("p1", "B", ["muscle.levator-scapulae"], "2025-06-16T05:00"),
    "s6": ("p1", "A", ["muscle.infraspinatus"], "2025-06-16T07:00"),
    "s7": ("p2", "A", ["muscle.upper-trapezius"], "2024-12-01T12:00"),
}


def seed_history(service: Service) -> History:
    runtime = service.runtime
    with runtime.db.write() as tx:
        tx.execute(update(Clinic).where(Clinic.id == service.clinic_id).values(time_zone=ZONE))
    providers = {"p1": make_provider(service), "p2": make_provider(service)}
    people = {"A": make_patient(service, "Ada"), "B": make_patient(service, "Bo")}
    for patient_id in people.values():
        add_screening(service, patient_id)
        add_consent(service, patient_id)
    clinician = service.actor(Role.clinician)
    made: dict[str, int] = {}
    for key, (provider, who, muscles, when) in PLAN.items():
        made[key] = sessions.create_session(
            runtime,
            clinician,
            people[who],
            sessions.SessionIn(
                provider_id=providers[provider],
                performed_at=_at(when),
                muscles=[
                    sessions.SessionMuscleIn(muscle=m, laterality="left", needle_count=1)
                    for m in muscles
                ],
                electrical_stimulation=False,
            ),
        ).id

    def event(session: str | None, who: str, risk: str, severity: Severity, serious: bool) -> None:
        onset = _at(PLAN[session][3]) + timedelta(hours=3) if session else _at("2026-02-01T10:00")
        adverse_events.create_adverse_event(
            runtime,
            clinician,
            people[who],
            adverse_events.AdverseEventIn(
                session_id=made[session] if session else None,
                event_type=risk,
                severity=severity,
                serious=serious,
                outcome="resolved",
                onset_at=onset,
                resolved_at=onset + timedelta(days=2),
            ),
        )

    event("s1", "A", "risk.bruising", "mild", False)
    event("s1", "A", "risk.bleeding", "mild", False)
    event("s2", "A", "risk.pneumothorax", "moderate", True)
    event("s3", "B", "risk.aggravation", "severe", False)
    event("s5", "B", "risk.bruising", "mild", False)
    event(None, "A", "risk.bruising", "mild", False)
    front = service.actor(Role.front_desk)
    for session, who, symptom, disposition in (
        ("s2", "A", "symptom.chest-pain", "emergency"),
        ("s3", "B", "symptom.soreness-prolonged", "call-provider"),
        ("s3", "B", "symptom.soreness-prolonged", "call-provider"),
    ):
        done = check_ins.record_check_in(
            runtime,
            front,
            people[who],
            {"symptoms": [symptom], "language": "en"},
            session_id=made[session],
        )
        assert done.disposition == disposition, done
    return History(providers["p1"], providers["p2"], made)
