"""Server render time of the busiest pages next to their JSON twins, in the same run.

A page shows what one or more JSON routes answer (the same use cases); its twin is the
set of JSON requests a script would make to show the same thing (the today list, for
instance, shows each listed patient's screening and consent status: one decisive
screening and one consent list per patient). Each round times every
page and every twin in turn, straight into the ASGI app (no sockets), so a slow spell of
a shared machine hits both; medians over the rounds are printed as microseconds per
page and as the ratio page / twin. Target (issue 11): a page renders in at most twice
the time of its JSON twin.

    .venv/bin/python bench/pages_bench.py --n 200 --rounds 5

The clinic is the demo clinic (``needlewise.demo``) plus ``--patients`` synthetic
patients, each screened, consented, treated and checked in, so the today list and the
chart hold a busy day's rows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Call = Callable[[], Awaitable[int]]


async def seconds(calls: list[Call], n: int) -> float:
    """Mean seconds to make every call of ``calls`` once (each must answer 200)."""
    start = time.perf_counter()
    for _ in range(n):
        for call in calls:
            status = await call()
            if status != 200:
                raise SystemExit(f"a bench request answered {status}")
    return (time.perf_counter() - start) / n


def seed(runtime: Any, extra: int) -> tuple[Any, int, dict[str, str]]:
    """The demo clinic plus ``extra`` treated patients with a check-in each. Returns the
    clinician actor, the busiest patient's id and fresh patient-link tokens."""
    from sqlalchemy import select

    from needlewise.demo import LOGINS, load_demo, signature_png
    from needlewise.interop.fhir.questionnaire import answered_intake
    from needlewise.persistence.db import utcnow
    from needlewise.persistence.models import Patient, Provider, User
    from needlewise.security.roles import Role
    from needlewise.services import (
        check_ins,
        consents,
        links,
        patients,
        sessions,
        stored_screenings,
    )
    from needlewise.services.actor import Actor
    from needlewise.services.consent_models import ConsentIn

    load_demo(runtime)
    with runtime.db.read() as tx:
        user = tx.scalar(select(User).where(User.email == LOGINS[1].email))
        provider = tx.scalar(select(Provider.id).where(Provider.user_id == user.id))
        busiest = tx.scalar(select(Patient.id).where(Patient.family_name == "Demo-Emergency"))
    clinician = Actor(
        ref=f"user:{user.id}", user_id=user.id, role=Role.clinician, clinic_id=user.clinic_id
    )
    symptoms = [["symptom.soreness"], ["symptom.bruising"], ["symptom.fever"], ["symptom.cough"]]
    for number in range(extra):
        patient = patients.create_patient(
            runtime,
            clinician,
            patients.PatientIn(
                given_name=f"Bench{number}", family_name="Synthetic",
                birth_date=date(1980, 1, 1) + timedelta(days=number * 37),
                preferred_language="es" if number % 3 == 0 else "en",
            ),
        ).id  # fmt: skip
        stored_screenings.create_screening(
            runtime, clinician, patient, answered_intake(runtime.kb), electrical_stimulation=False
        )
        consents.sign_consent(
            runtime,
            clinician,
            patient,
            ConsentIn(
                language="en", typed_name="Bench Synthetic", signature_png=signature_png(),
                signer_role="patient", signer_name="Bench Synthetic",
            ),
        )  # fmt: skip
        treated = sessions.create_session(
            runtime,
            clinician,
            patient,
            sessions.SessionIn(
                provider_id=provider, performed_at=utcnow() - timedelta(hours=20),
                muscles=[sessions.SessionMuscleIn(muscle="muscle.upper-trapezius", laterality="left", needle_count=2)],
                technique="Trigger point dry needling", electrical_stimulation=False,
            ),
        ).id  # fmt: skip
        check_ins.record_check_in(
            runtime,
            clinician,
            patient,
            {"symptoms": symptoms[number % len(symptoms)], "language": "en"},
            session_id=treated,
        )
    tokens = {
        purpose: links.create_link(runtime, clinician, busiest, links.LinkIn(purpose=purpose)).token
        for purpose in ("intake", "consent", "check-in")
    }
    return clinician, busiest, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="requests per page per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--patients", type=int, default=40, help="synthetic patients added")
    parser.add_argument("--valuesets", type=Path, default=ROOT.parent / "shared" / "valuesets")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))

    from needlewise.config import Settings
    from needlewise.services.api_tokens import mint_api_token
    from needlewise.web.app import create_app
    from route_bench import asgi_get  # the same straight-into-the-app GET

    folder = Path(tempfile.mkdtemp(prefix="pages-bench-"))
    settings = Settings(
        database_url=f"sqlite:///{folder / 'bench.sqlite'}",
        valuesets_dir=args.valuesets if args.valuesets.is_dir() else None,
        secret_key="bench-secret",
        nlp_warmup=False,
    )
    app = create_app(settings)
    runtime = app.state.runtime
    clinician, patient, tokens = seed(runtime, args.patients)
    token, _ = mint_api_token(runtime, clinician, days=1)
    staff = {"authorization": f"Bearer {token}"}
    nobody: dict[str, str] = {}

    def get(path: str, headers: dict[str, str] = staff, ok: tuple[int, ...] = (200,)) -> Call:
        return asgi_get(app, path, headers=headers, ok=ok)

    on = f"patient_id={patient}"
    with runtime.db.read() as tx:  # the patients the today list shows (its first page)
        from sqlalchemy import select

        from needlewise.persistence.models import Patient

        listed = list(tx.scalars(select(Patient.id).order_by(Patient.id).limit(50)))
    statuses = [
        call
        for other in listed
        for call in (
            get(f"/api/patients/{other}/decisive-screening", ok=(200, 404)),
            get(f"/api/consents?patient_id={other}"),
        )
    ]
    pairs: dict[str, tuple[list[Call], list[Call]]] = {
        "today list (/app)": (
            [get("/app")],
            [
                get("/api/check-ins?unacknowledged=true&limit=100"),
                get("/api/patients?limit=50"),
                *statuses,  # each patient's screening and consent status
            ],
        ),
        "patient chart": (
            [get(f"/app/patients/{patient}")],
            [
                get(f"/api/patients/{patient}"),
                get(f"/api/screenings?{on}"),
                get(f"/api/consents?{on}"),
                get(f"/api/sessions?{on}"),
                get(f"/api/check-ins?{on}"),
                get(f"/api/adverse-events?{on}"),
            ],
        ),
        "session note form": (
            [get(f"/app/patients/{patient}/sessions/new")],
            [
                get(f"/api/patients/{patient}"),
                get(f"/api/patients/{patient}/decisive-screening"),
                get(f"/api/consents?{on}"),
                get("/api/providers?active=true"),
            ],
        ),
        "patient: intake form": (
            [get(f"/p/{tokens['intake']}", nobody), get(f"/p/{tokens['intake']}/intake", nobody)],
            [
                get(f"/api/p/{tokens['intake']}", nobody),
                get(f"/api/p/{tokens['intake']}/intake-questionnaire", nobody),
            ],
        ),
        "patient: consent form": (
            [get(f"/p/{tokens['consent']}/consent", nobody)],
            [get(f"/api/p/{tokens['consent']}/consent-text", nobody)],
        ),
        "patient: check-in form": (
            [get(f"/p/{tokens['check-in']}/check-in", nobody)],
            [get(f"/api/p/{tokens['check-in']}/check-in-questionnaire", nobody)],
        ),
    }

    async def run() -> dict[str, tuple[list[float], list[float]]]:
        found: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in pairs}
        for page, twin in pairs.values():  # warm (templates compiled, caches filled)
            await seconds(page, 20)
            await seconds(twin, 20)
        for _ in range(args.rounds):
            for name, (page, twin) in pairs.items():
                found[name][0].append(await seconds(page, args.n))
                found[name][1].append(await seconds(twin, args.n))
        return found

    found = asyncio.run(run())
    print(f"{'page':<24} {'page µs':>9} {'JSON twin µs':>13} {'ratio':>6}  target ≤ 2.0")
    for name, (page_times, twin_times) in found.items():
        page_us = statistics.median(page_times) * 1e6
        twin_us = statistics.median(twin_times) * 1e6
        verdict = "met" if page_us <= 2 * twin_us else "NOT met"
        print(f"{name:<24} {page_us:>9,.0f} {twin_us:>13,.0f} {page_us / twin_us:>6.2f}  {verdict}")


if __name__ == "__main__":
    main()
