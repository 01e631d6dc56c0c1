"""The clinic's safety record on a seeded history with a known answer (both databases):
counts, rates and Wilson intervals for the clinic, each region and each provider, the
clinic's time zone at the period's edge, the published rows, the audit entry, the
empty clinic and bad periods."""

from __future__ import annotations

from datetime import date

import pytest

from needlewise.domain.safety_rates import rate
from needlewise.errors import Forbidden, InputError
from needlewise.security.roles import Role
from needlewise.services.safety_report import GroupRates, default_period, safety_report
from support.audit import entries_after, last_id
from support.safety_history import NOW, seed_history
from support.service import Service


def counts(g: GroupRates) -> tuple[int, ...]:
    return (
        g.treatments,
        g.minor_events,
        g.minor.count,
        g.significant_events,
        g.significant.count,
        g.check_ins.count,
        g.emergency.count,
        g.call_provider.count,
    )


def test_known_history(service: Service) -> None:
    history = seed_history(service)
    before = last_id(service)
    report = safety_report(service.runtime, service.actor(Role.clinician), now=NOW)
    assert (report.start, report.end, report.time_zone) == (
        date(2025, 6, 16),
        date(2026, 6, 15),
        "America/Denver",
    )
    # s1 s2 s3 s4 s6 (s5 is 15 June in Denver, s7 a year and a half ago)
    assert counts(report.clinic) == (5, 2, 1, 2, 2, 2, 1, 1)
    assert report.clinic.minor == rate(1, 5)
    assert report.clinic.significant == rate(2, 5)
    assert report.clinic.minor.per_100 == pytest.approx(20.0)
    assert (report.unlinked_minor, report.unlinked_significant) == (1, 0)
    regions = {g.key: counts(g) for g in report.regions}
    assert regions == {
        "region.neck": (2, 2, 1, 1, 1, 1, 1, 0),
        "region.shoulder": (1, 0, 0, 0, 0, 0, 0, 0),
        "region.upper-back": (1, 0, 0, 1, 1, 1, 1, 0),
        "region.lower-back": (1, 0, 0, 1, 1, 1, 0, 1),
        "region.lower-leg-foot": (1, 0, 0, 0, 0, 0, 0, 0),
    }
    assert [g.key for g in report.regions] == list(regions)  # the knowledge base's order
    providers = {g.key: counts(g) for g in report.providers}
    assert providers == {
        f"provider.{history.p1}": (3, 2, 1, 1, 1, 1, 1, 0),
        f"provider.{history.p2}": (2, 0, 0, 1, 1, 1, 0, 1),
    }
    shoulder = next(g for g in report.regions if g.key == "region.shoulder")
    assert shoulder.title("es") == "Hombro y omóplato"
    entries = entries_after(service, before)
    assert [
        (e["action"], e["resource_type"], e["resource_id"], e["patient_id"]) for e in entries
    ] == [("read", "safety-report", "2025-06-16..2026-06-15", None)]


def test_an_explicit_period(service: Service) -> None:
    seed_history(service)
    actor = service.actor(Role.admin)
    report = safety_report(service.runtime, actor, date(2025, 6, 15), date(2025, 6, 16), now=NOW)
    assert counts(report.clinic)[:2] == (2, 1)  # s5 and s6, s5's bruising
    older = safety_report(service.runtime, actor, date(2024, 1, 1), now=NOW)
    assert older.clinic.treatments == 7


def test_published_rates_come_from_the_knowledge_base(service: Service) -> None:
    report = safety_report(service.runtime, service.actor(Role.clinician), now=NOW)
    rows = {(p.measure, p.source_id): p for p in report.published}
    assert set(rows) == {
        ("minor", "source.brady-2014"),
        ("minor", "source.boyce-2020"),
        ("significant", "source.boyce-2020"),
        ("significant", "source.brady-2014"),
    }
    brady = rows[("minor", "source.brady-2014")]
    assert (brady.events, brady.denominator, brady.per) == (1463, 7629, "treatments")
    assert brady.rate.per_100 == pytest.approx(19.18, abs=0.005)
    boyce = rows[("significant", "source.boyce-2020")]
    assert (boyce.events, boyce.denominator, boyce.per) == (20, 20494, "sessions")
    zero = rows[("significant", "source.brady-2014")]
    assert (zero.events, zero.authors_estimate, zero.published_percent) == (0, True, 0.04)
    assert zero.rate.low == 0.0
    assert zero.rate.high == pytest.approx(0.0503, abs=5e-5)
    assert brady.label == "Brady 2014"


def test_an_empty_clinic_has_no_rates(service: Service) -> None:
    report = safety_report(service.runtime, service.actor(Role.clinician), now=NOW)
    assert report.empty
    assert report.clinic.treatments == 0
    assert report.clinic.minor.per_100 is None
    assert (report.regions, report.providers) == ([], [])


def test_front_desk_may_not_read_it(service: Service) -> None:
    with pytest.raises(Forbidden):
        safety_report(service.runtime, service.actor(Role.front_desk), now=NOW)


@pytest.mark.parametrize(
    ("start", "end", "where"),
    [(date(2026, 2, 1), date(2026, 1, 1), "end"), (date(2000, 1, 1), date(2026, 1, 1), "start")],
)
def test_bad_periods_are_named(service: Service, start: date, end: date, where: str) -> None:
    with pytest.raises(InputError) as caught:
        safety_report(service.runtime, service.actor(Role.clinician), start, end, now=NOW)
    assert caught.value.where == where


@pytest.mark.parametrize(
    ("today", "start"),
    [(date(2026, 6, 15), date(2025, 6, 16)), (date(2028, 2, 29), date(2027, 3, 1))],
)
def test_default_period_is_twelve_months(today: date, start: date) -> None:
    assert default_period(today) == (start, today)
