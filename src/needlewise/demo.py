"""A demo clinic for trying needlewise (``make run`` loads it into an empty database).

Not a use case: a loader, like a test fixture, that calls the use cases in
:mod:`needlewise.services`. Everything is synthetic and is created through the same use
cases staff would call, so every rule applies and every write is in the audit log:

* an admin, front desk, and two physical therapists: one licensed in Colorado (dry
  needling allowed) and one in New York (not permitted, so the service refuses to record
  them as the needling provider);
* five patients at different stages: intake link sent; screened, consented, treated and
  checked in (self-care); not eligible (an absolute contraindication); treated and then
  reporting an emergency symptom (unacknowledged); screened and consented, awaiting
  treatment.

The logins are printed by ``needlewise serve --demo``. They are demo passwords: never
load the demo into a clinic's real database.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from needlewise.demo_history import add_history
from needlewise.interop.fhir.questionnaire import answered_intake
from needlewise.knowledge.schema import ScoringSection
from needlewise.languages import LANGUAGES
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import Clinic, User
from needlewise.security.roles import Role
from needlewise.services import (
    check_ins,
    consents,
    links,
    outcomes,
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

CLINIC_NAME = "Demo Dry Needling Clinic"
#: the demo clinic is in Colorado (its first provider is licensed there)
DEMO_TIME_ZONE = "America/Denver"
#: where the demo clinic's alerts go (the demo mail catcher keeps them; .example is reserved)
DEMO_ALERT_EMAIL = "alerts@demo-clinic.example"


def _ndi_sections(runtime: Runtime) -> list[ScoringSection]:
    """The NDI's sections (our short names) from the knowledge base."""
    measure = runtime.kb.measure("measure.ndi")
    return list(measure.method.sections) if measure and measure.method else []


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role
    name: str
    note: str


LOGINS = (
    DemoLogin("admin@demo.needlewise.example", "demo admin password", Role.admin, "Demo Admin", "accounts, providers, audit log"),
    DemoLogin("pt.colorado@demo.needlewise.example", "demo clinician password", Role.clinician, "Demo PT Colorado", "PT licensed in CO (allowed)"),
    DemoLogin("pt.newyork@demo.needlewise.example", "demo clinician password", Role.clinician, "Demo PT New York", "PT licensed in NY (not permitted)"),
    DemoLogin("frontdesk@demo.needlewise.example", "demo front desk password", Role.front_desk, "Demo Front Desk", "patients, links, check-ins"),
)  # fmt: skip


def signature_png() -> str:
    """A small, valid PNG (a line on white) standing in for a drawn signature, base64."""
    width, height = 64, 16
    rows = b"".join(
        b"\x00" + bytes(0 if (y == height // 2 and 4 <= x < 60) else 255 for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


def already_loaded(runtime: Runtime) -> bool:
    with runtime.db.read() as tx:
        return tx.scalar(select(Clinic.id).where(Clinic.name == CLINIC_NAME)) is not None


def demo_ready(runtime: Runtime) -> bool:
    """True when the demo logins exist (the demo was loaded into this database)."""
    with runtime.db.read() as tx:
        return tx.scalar(select(User.id).where(User.email == LOGINS[0].email)) is not None


def load_demo(runtime: Runtime) -> bool:
    """Load the demo clinic into an empty database. Returns False (and changes nothing)
    when the database already holds a clinic."""
    with runtime.db.read() as tx:
        if tx.scalar(select(Clinic.id).limit(1)) is not None:
            return False
    clinic_id = create_clinic(
        runtime,
        ClinicIn(
            name=CLINIC_NAME,
            phones=["555-0100", "555-0199 (after hours)"],
            languages=list(LANGUAGES),
            time_zone=DEMO_TIME_ZONE,
            alert_email=DEMO_ALERT_EMAIL,
        ),
    )
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
    users: dict[str, Actor] = {}
    for login in LOGINS:
        user = create_user(
            runtime,
            system,
            UserIn(
                email=login.email,
                name=login.name,
                role=login.role,
                password=login.password,
            ),
        )
        users[login.email] = Actor(
            ref=f"user:{user.id}", user_id=user.id, role=login.role, clinic_id=clinic_id
        )
    admin = users[LOGINS[0].email]
    colorado, _newyork, front = (
        users[LOGINS[1].email],
        users[LOGINS[2].email],
        users[LOGINS[3].email],
    )
    pt_co = providers.create_provider(
        runtime,
        admin,
        providers.ProviderIn(
            name="Demo PT (Colorado)", profession="pt", licence_state="CO", licence_number="PT-DEMO-1",
            training_hours=54, training_date=date(2024, 3, 1), user_id=colorado.user_id,
        ),
    )  # fmt: skip
    providers.create_provider(
        runtime,
        admin,
        providers.ProviderIn(
            name="Demo PT (New York)", profession="pt", licence_state="NY", licence_number="PT-DEMO-2",
            training_hours=54, training_date=date(2024, 3, 1), user_id=users[LOGINS[2].email].user_id,
        ),
    )  # fmt: skip

    def patient(given: str, family: str, born: date, language: str = "en") -> int:
        return patients.create_patient(
            runtime,
            front,
            patients.PatientIn(
                given_name=given, family_name=family, birth_date=born, preferred_language=language,
                phone="555-0142", email=f"{given.lower()}@patients.example",
            ),
        ).id  # fmt: skip

    def consent(
        patient_id: int, name: str, language: str = "en", interpreter: bool = False
    ) -> None:
        consents.sign_consent(
            runtime,
            colorado,
            patient_id,
            ConsentIn(
                language=language, typed_name=name, signature_png=signature_png(), signer_role="patient",
                signer_name=name,
                interpreter_name="Demo Interpreter" if interpreter else None,
                interpreter_language="Spanish" if interpreter else None,
            ),
        )  # fmt: skip

    def treat(patient_id: int, hours_ago: float, muscles: list[tuple[str, str]]) -> int:
        return sessions.create_session(
            runtime,
            colorado,
            patient_id,
            sessions.SessionIn(
                provider_id=pt_co.id,
                performed_at=utcnow() - timedelta(hours=hours_ago),
                muscles=[
                    sessions.SessionMuscleIn(
                        muscle=m, laterality=side, needle_count=2, gauge="0.25 mm", length_mm=30
                    )
                    for m, side in muscles
                ],
                technique="Trigger point dry needling, pistoning",
                electrical_stimulation=False,
                retention_seconds=60,
                response="local twitch response",
                payer="commercial",
            ),
        ).id

    # 1. registered, intake link sent
    first = patient("Ana", "Demo-Intake", date(1988, 5, 14), "es")
    links.create_link(runtime, front, first, links.LinkIn(purpose="intake"))
    # 2. screened eligible, consented, treated, checked in: self-care
    second = patient("Ben", "Demo-Treated", date(1975, 9, 2))
    stored_screenings.create_screening(
        runtime, front, second, answered_intake(runtime.kb), electrical_stimulation=False
    )
    consent(second, "Ben Demo-Treated")
    done = treat(
        second, 30, [("muscle.upper-trapezius", "left"), ("muscle.levator-scapulae", "left")]
    )
    check_ins.record_check_in(
        runtime,
        front,
        second,
        {"symptoms": ["symptom.soreness"], "language": "en"},
        session_id=done,
    )
    # ... with an NDI baseline at that neck session (services/outcomes.py; docs/outcomes.md)
    outcomes.record_outcome(
        runtime,
        colorado,
        second,
        outcomes.OutcomeScoreIn(
            measure="measure.ndi",
            session_id=done,
            items=[
                outcomes.OutcomeItemIn(key=s.key, score=score)
                for s, score in zip(
                    _ndi_sections(runtime), (3, 2, 2, 1, 2, 1, 2, 1, 2, 2), strict=True
                )
            ],
        ),
    )
    # 3. not eligible: an absolute contraindication (strong fear of needles)
    third = patient("Cara", "Demo-NotEligible", date(1992, 1, 23))
    stored_screenings.create_screening(
        runtime,
        front,
        third,
        answered_intake(runtime.kb, {"contraindication.needle-fear"}),
        electrical_stimulation=False,
    )
    # 4. treated, then reports an emergency symptom (not yet acknowledged)
    fourth = patient("Diego", "Demo-Emergency", date(1969, 11, 8), "es")
    stored_screenings.create_screening(
        runtime, front, fourth, answered_intake(runtime.kb), electrical_stimulation=False
    )
    consent(fourth, "Diego Demo-Emergency", "es", interpreter=True)
    treated = treat(
        fourth,
        20,
        [
            ("muscle.rhomboids", "right"),
            ("muscle.thoracic-paraspinals", "right"),
            ("muscle.infraspinatus", "right"),
        ],
    )
    check_in_link = links.create_link(
        runtime, front, fourth, links.LinkIn(purpose="check-in", session_id=treated)
    )
    patient_actor = links.open_link(runtime, check_in_link.token, "check-in", None)
    check_ins.record_check_in(
        runtime,
        patient_actor,
        fourth,
        {
            "symptoms": ["symptom.chest-pain", "symptom.breathing-trouble"],
            "text": "me falta el aire",
            "language": "es",
        },
        session_id=treated,
    )
    # 5. screened and consented, waiting for treatment
    fifth = patient("Eva", "Demo-Ready", date(2001, 7, 30))
    stored_screenings.create_screening(
        runtime, front, fifth, answered_intake(runtime.kb), electrical_stimulation=False
    )
    consent(fifth, "Eva Demo-Ready")
    # a past year, for /app/safety
    add_history(runtime, admin, colorado, front, pt_co.id, signature_png())
    return True


@dataclass(frozen=True)
class DemoLink:
    """A fresh patient link of the demo, to open in a browser as the patient would."""

    label: str
    path: str


def demo_links(runtime: Runtime) -> list[DemoLink]:
    """New patient links for the demo's patients, made each time the demo starts (links
    expire, and intake and consent links are used up): Ana's intake and consent (in
    Spanish), and Ben's after-treatment check-in."""
    from needlewise.persistence.models import Patient, TreatmentSession

    with runtime.db.read() as tx:
        front = tx.scalar(select(User).where(User.email == LOGINS[3].email))
        ana = tx.scalar(select(Patient.id).where(Patient.family_name == "Demo-Intake"))
        ben = tx.scalar(select(Patient.id).where(Patient.family_name == "Demo-Treated"))
        treated = tx.scalar(
            select(TreatmentSession.id).where(TreatmentSession.patient_id == ben).limit(1)
        )
    if front is None or ana is None or ben is None:
        return []
    actor = Actor(
        ref=f"user:{front.id}", user_id=front.id, role=Role(front.role), clinic_id=front.clinic_id
    )
    made = [
        ("Ana (Spanish): health questions", ana, links.LinkIn(purpose="intake")),
        ("Ana (Spanish): consent", ana, links.LinkIn(purpose="consent")),
        ("Ben: after-treatment check-in", ben, links.LinkIn(purpose="check-in", session_id=treated)),
    ]  # fmt: skip
    return [
        DemoLink(label, f"/p/{links.create_link(runtime, actor, patient_id, data).token}")
        for label, patient_id, data in made
    ]
