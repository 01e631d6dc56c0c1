"""The clinic's safety record: how often adverse events and worrying check-ins follow
its dry needling, per 100 treatments, beside the published rates.

:func:`safety_report` is the one use case behind ``/app/safety`` and its CSV and PDF.

Definitions (documented in ``docs/safety-report.md``):

* **treatment** — a recorded session (``treatment_sessions``) performed in the period;
* **significant** adverse event — ``serious`` (death, life-threatening, hospital stay or
  lasting harm) **or** ``severity`` "severe". This is our mapping (``evidence: design``)
  onto Brady 2014's "significant" and Boyce 2020's "major" events, whose examples were
  pneumothorax, excessive bleeding and prolonged aggravation — events a clinic would
  record as serious or severe. Every other adverse event is **minor**;
* each rate counts **treatments with at least one** such event (or check-in), per 100
  treatments, with a Wilson 95% interval (:mod:`needlewise.domain.safety_rates`); the
  event counts are given too (one treatment can have several);
* an adverse event belongs to the period of the session it is linked to; one with no
  session is counted by its onset date in ``unlinked_minor`` / ``unlinked_significant``
  and is in no rate (it cannot be placed under a treatment, region or provider);
* check-ins count when linked to a session of the period: answered, and those whose
  disposition was ``emergency`` or ``call-provider``;
* **by region** — a session needling muscles of several regions (``muscles.yaml``)
  counts once in each, so regions overlap and do not add up to the clinic total;
  **by provider** — the session's needling provider.

The period is whole days in the clinic's time zone (``Clinic.time_zone``; UTC when it
is not a known zone): by default the 12 months up to today. The read is audited as one
``read`` of ``safety-report`` (the period as its id, no patient): the report holds
counts only, never a patient id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import select

from needlewise.domain.safety_rates import Rate, rate
from needlewise.errors import InputError
from needlewise.persistence.db import utcnow
from needlewise.persistence.models import (
    AdverseEvent,
    CheckIn,
    Clinic,
    Patient,
    Provider,
    SessionMuscle,
    TreatmentSession,
)
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.clinic_time import zone_of
from needlewise.services.runtime import Runtime
from needlewise.services.safety_published import PublishedRate, published_rates

PERMISSION = "safety-report:read"
#: the longest period one report covers (a sanity bound on the query, ten years)
MAX_DAYS = 3660
GroupKind = Literal["clinic", "region", "provider"]


@dataclass(frozen=True)
class GroupRates:
    """The rates of one group of treatments (the clinic, a region, a provider).

    ``titles`` is the group's name by language (a provider's name in every language)."""

    kind: GroupKind
    key: str
    titles: dict[str, str]
    treatments: int
    minor_events: int
    significant_events: int
    minor: Rate
    significant: Rate
    check_ins: Rate
    emergency: Rate
    call_provider: Rate

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("en") or self.key


@dataclass(frozen=True)
class SafetyReport:
    """The clinic's safety record for ``start``-``end`` (local dates, both included)."""

    clinic_name: str
    time_zone: str
    start: date
    end: date
    clinic: GroupRates
    regions: list[GroupRates]
    providers: list[GroupRates]
    unlinked_minor: int
    unlinked_significant: int
    published: list[PublishedRate]
    generated_at: datetime
    knowledge_version: str
    groups: list[GroupRates] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", [self.clinic, *self.regions, *self.providers])

    @property
    def empty(self) -> bool:
        return self.clinic.treatments == 0


def is_significant(severity: str, serious: bool) -> bool:
    """Significant: serious (regulatory meaning) or severe; every other event is minor."""
    return serious or severity == "severe"


def default_period(today: date) -> tuple[date, date]:
    """The 12 months up to and including ``today``: from the day after the same date a
    year earlier (29 February falls back to 28 February)."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


def check_period(start: date, end: date) -> None:
    """Refuse a period that ends before it starts or is longer than :data:`MAX_DAYS`."""
    if end < start:
        raise InputError(f'the period\'s "end" ({end}) is before its "start" ({start})', "end")
    if (end - start).days + 1 > MAX_DAYS:
        raise InputError(
            f'a report covers at most {MAX_DAYS} days: move "start" later or "end" earlier',
            "start",
        )


@dataclass
class _Tally:
    sessions: set[int] = field(default_factory=set)
    minor: set[int] = field(default_factory=set)
    significant: set[int] = field(default_factory=set)
    minor_events: int = 0
    significant_events: int = 0
    check_ins: set[int] = field(default_factory=set)
    emergency: set[int] = field(default_factory=set)
    call_provider: set[int] = field(default_factory=set)

    def rates(self, kind: GroupKind, key: str, titles: dict[str, str]) -> GroupRates:
        n = len(self.sessions)
        return GroupRates(
            kind=kind,
            key=key,
            titles=titles,
            treatments=n,
            minor_events=self.minor_events,
            significant_events=self.significant_events,
            minor=rate(len(self.minor), n),
            significant=rate(len(self.significant), n),
            check_ins=rate(len(self.check_ins), n),
            emergency=rate(len(self.emergency), n),
            call_provider=rate(len(self.call_provider), n),
        )


def _tally(
    sessions: dict[int, int],
    regions_of: dict[int, set[str]],
    events: Iterable[tuple[int, str, bool]],
    check_ins: Iterable[tuple[int, str]],
) -> tuple[_Tally, dict[str, _Tally], dict[int, _Tally]]:
    clinic = _Tally()
    by_region: dict[str, _Tally] = defaultdict(_Tally)
    by_provider: dict[int, _Tally] = defaultdict(_Tally)

    def tallies(session_id: int) -> list[_Tally]:
        return [
            clinic,
            by_provider[sessions[session_id]],
            *(by_region[r] for r in regions_of.get(session_id, ())),
        ]

    for session_id in sessions:
        for t in tallies(session_id):
            t.sessions.add(session_id)
    for session_id, severity, serious in events:
        significant = is_significant(severity, serious)
        for t in tallies(session_id):
            if significant:
                t.significant.add(session_id)
                t.significant_events += 1
            else:
                t.minor.add(session_id)
                t.minor_events += 1
    for session_id, disposition in check_ins:
        for t in tallies(session_id):
            t.check_ins.add(session_id)
            if disposition == "emergency":
                t.emergency.add(session_id)
            elif disposition == "call-provider":
                t.call_provider.add(session_id)
    return clinic, by_region, by_provider


def safety_report(
    runtime: Runtime,
    actor: Actor,
    start: date | None = None,
    end: date | None = None,
    *,
    now: datetime | None = None,
) -> SafetyReport:
    """The safety record of the actor's clinic from ``start`` to ``end`` (local dates,
    both included; default the 12 months up to today in the clinic's zone). Clinicians
    and admins (``safety-report:read``); audited as one aggregate read."""
    actor.require(PERMISSION)
    moment = now or utcnow()
    kb = runtime.kb
    with runtime.db.read() as tx:
        clinic = tx.get(Clinic, actor.clinic_id) if actor.clinic_id is not None else None
        if clinic is None:
            raise InputError("only the staff of a clinic have a safety record", "clinic")
        zone = zone_of(clinic)
        today = moment.astimezone(zone).date()
        default_start, default_end = default_period(end or today)
        end = end or default_end
        start = start or default_start
        check_period(start, end)
        since = datetime.combine(start, time(), zone).astimezone(UTC)
        until = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
        in_period = (
            select(TreatmentSession.id)
            .join(Patient, Patient.id == TreatmentSession.patient_id)
            .where(
                Patient.clinic_id == clinic.id,
                TreatmentSession.performed_at >= since,
                TreatmentSession.performed_at < until,
            )
        )
        sessions: dict[int, int] = {
            row.id: row.provider_id
            for row in tx.execute(
                select(TreatmentSession.id, TreatmentSession.provider_id).where(
                    TreatmentSession.id.in_(in_period)
                )
            )
        }
        regions_of: dict[int, set[str]] = defaultdict(set)
        for sid, muscle_id in tx.execute(
            select(SessionMuscle.session_id, SessionMuscle.muscle).where(
                SessionMuscle.session_id.in_(in_period)
            )
        ):
            muscle = kb.muscle(muscle_id)
            regions_of[sid].add(muscle.region if muscle is not None else "region.unknown")
        events: list[tuple[int, str, bool]] = [
            (sid, severity, serious)
            for sid, severity, serious in tx.execute(
                select(AdverseEvent.session_id, AdverseEvent.severity, AdverseEvent.serious).where(
                    AdverseEvent.session_id.in_(in_period)
                )
            )
            if sid is not None
        ]
        unlinked = list(
            tx.execute(
                select(AdverseEvent.severity, AdverseEvent.serious)
                .join(Patient, Patient.id == AdverseEvent.patient_id)
                .where(
                    Patient.clinic_id == clinic.id,
                    AdverseEvent.session_id.is_(None),
                    AdverseEvent.onset_at >= since,
                    AdverseEvent.onset_at < until,
                )
            )
        )
        check_ins: list[tuple[int, str]] = [
            (sid, disposition)
            for sid, disposition in tx.execute(
                select(CheckIn.session_id, CheckIn.disposition).where(
                    CheckIn.session_id.in_(in_period)
                )
            )
            if sid is not None
        ]
        names: dict[int, str] = {
            row.id: row.name
            for row in tx.execute(
                select(Provider.id, Provider.name).where(Provider.clinic_id == clinic.id)
            )
        }
        clinic_name, time_zone = clinic.name, zone.key
    whole, by_region, by_provider = _tally(sessions, regions_of, events, check_ins)
    significant_unlinked = sum(1 for sev, ser in unlinked if is_significant(sev, ser))
    report = SafetyReport(
        clinic_name=clinic_name,
        time_zone=time_zone,
        start=start,
        end=end,
        clinic=whole.rates("clinic", "clinic", {"en": clinic_name}),
        regions=[
            by_region[key].rates("region", key, _region_titles(runtime, key))
            for key in _region_order(runtime, by_region)
        ],
        providers=[
            by_provider[pid].rates("provider", f"provider.{pid}", {"en": names.get(pid, "?")})
            for pid in sorted(by_provider, key=lambda p: (names.get(p, ""), p))
        ],
        unlinked_minor=len(unlinked) - significant_unlinked,
        unlinked_significant=significant_unlinked,
        published=published_rates(kb),
        generated_at=moment,
        knowledge_version=kb.version,
    )
    audit.record_reads(runtime.db, actor, "safety-report", [(f"{start}..{end}", None)])
    return report


def _region_order(runtime: Runtime, found: dict[str, Any]) -> list[str]:
    """The regions found, in the knowledge base's order (unknown ones last)."""
    order = {r.id: i for i, r in enumerate(runtime.kb.data.regions)}
    return sorted(found, key=lambda key: (order.get(key, len(order)), key))


def _region_titles(runtime: Runtime, key: str) -> dict[str, str]:
    region = runtime.kb.region(key)
    if region is None:
        return {"en": "Muscle not in the knowledge base", "es": "Músculo fuera de la base"}
    return {"en": region.title.en, "es": region.title.es}
