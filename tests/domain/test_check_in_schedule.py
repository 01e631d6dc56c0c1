"""The check-in schedule (domain/check_in_schedule.py), table-tested rule by rule.

Every expected time is written out in UTC; the zones are real IANA zones (tzdata). The
daylight-saving cases use the 2026 changes: US spring forward 8 March and fall back
1 November (02:00 local), EU 29 March and 25 October (01:00 UTC), Sydney 5 April (end)
and 4 October (start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from needlewise.domain.check_in_schedule import (
    LungReading,
    QuietHours,
    near_lung,
    plan_check_ins,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.aftercare_config import ClinicAftercare

H2, H24, H48, H72, INFECTION = (
    "aftercare.check-in-2h",
    "aftercare.check-in-24h",
    "aftercare.check-in-48h-chest",
    "aftercare.check-in-72h",
    "aftercare.check-in-infection",
)
NEAR = LungReading(True, ("test: near the lung",))
FAR = LungReading(False, ())
NIGHT = QuietHours.parse("21:00", "08:00")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def plan(
    kb: KnowledgeBase,
    performed: str,
    lung: LungReading,
    zone: str = "UTC",
    quiet: QuietHours = NIGHT,
    clinic: ClinicAftercare | None = None,
    now: str | None = None,
) -> dict[str, datetime]:
    """rule id -> due time of its invitation (UTC)."""
    result = plan_check_ins(
        utc(performed),
        lung,
        ZoneInfo(zone),
        quiet,
        clinic or ClinicAftercare(),
        kb.data.aftercare_schedule,
        utc(now or performed),
    )
    return {m.rule: m.due_at for m in result.invitations}


# ------------------------------------------------------------------ the knowledge


def test_the_rules_the_issue_promises(kb_core: KnowledgeBase) -> None:
    rules = {r.id: r for r in kb_core.data.aftercare_schedule.rules}
    assert list(rules) == [H2, H24, H48, H72, INFECTION]
    assert {i: r.hours_after for i, r in rules.items()} == {
        H2: 2,
        H24: 24,
        H48: 48,
        H72: 72,
        INFECTION: 168,
    }
    # the thoracic window: the 2 h, 24 h and 48 h checks (clinical-knowledge §2.6: up to ~2 days)
    assert [i for i, r in rules.items() if r.thoracic_window] == [H2, H24, H48]
    assert [i for i, r in rules.items() if r.required] == [H48]
    assert [i for i, r in rules.items() if r.applies_to == "near-lung"] == [H48]
    for rule in rules.values():
        assert rule.evidence.value == "design"
        assert "source.clinical-knowledge-design" in rule.sources
        assert len(rule.sources) >= 2, f"{rule.id}: cite the facts behind the timing"


# ------------------------------------------------------------------ near the lung


@dataclass
class LungCase:
    name: str
    muscles: list[str] = field(default_factory=list)
    regions: list[str | None] = field(default_factory=list)
    near: bool = True


LUNG_CASES = [
    LungCase("upper trapezius (neck)", ["muscle.upper-trapezius"]),
    LungCase("pectoralis major (chest wall)", ["muscle.pectoralis-major"]),
    LungCase("rhomboids (upper back)", ["muscle.rhomboids"]),
    LungCase("deltoid: muscle not flagged, shoulder region is", ["muscle.deltoid"]),
    LungCase("sternocleidomastoid: unknown counts as near", ["muscle.sternocleidomastoid"]),
    LungCase("lumbar paraspinals: lower back region unknown", ["muscle.lumbar-paraspinals"]),
    LungCase("a muscle the knowledge base does not know", ["muscle.not-a-muscle"]),
    LungCase("nothing recorded", []),
    LungCase("region missing", regions=[None]),
    LungCase("unknown region id", regions=["region.moon"]),
    LungCase("neck region", regions=["region.neck"]),
    LungCase("gastrocnemius only", ["muscle.gastrocnemius"], near=False),
    LungCase("biceps and quadriceps", ["muscle.biceps-brachii", "muscle.quadriceps"], near=False),
    LungCase("arm region", regions=["region.arm"], near=False),
    LungCase("a far muscle and a near one", ["muscle.soleus", "muscle.infraspinatus"]),
]


@pytest.mark.parametrize("case", LUNG_CASES, ids=lambda c: c.name)
def test_near_lung_only_escalates(kb_core: KnowledgeBase, case: LungCase) -> None:
    reading = near_lung(kb_core, case.muscles, case.regions)
    assert reading.near is case.near
    assert bool(reading.reasons) is case.near  # a near reading always says why


# ------------------------------------------------------------------ rule by rule


@dataclass
class Case:
    """One session; the expected invitation times (UTC) by rule."""

    name: str
    zone: str
    performed: str
    lung: LungReading
    expected: dict[str, str]
    quiet: QuietHours = NIGHT


CASES = [
    Case(
        "UTC, morning, near the lung: all five at their hours",
        "UTC",
        "2026-06-10 10:00",
        NEAR,
        {
            H2: "2026-06-10 12:00",
            H24: "2026-06-11 10:00",
            H48: "2026-06-12 10:00",
            H72: "2026-06-13 10:00",
            INFECTION: "2026-06-17 10:00",
        },
    ),
    Case(
        "UTC, morning, not near the lung: no 48 h check",
        "UTC",
        "2026-06-10 10:00",
        FAR,
        {
            H2: "2026-06-10 12:00",
            H24: "2026-06-11 10:00",
            H72: "2026-06-13 10:00",
            INFECTION: "2026-06-17 10:00",
        },
    ),
    Case(
        "New York 19:00 EDT, far: the 2 h check (21:00) waits for 08:00",
        "America/New_York",
        "2026-06-10 23:00",
        FAR,
        {
            H2: "2026-06-11 12:00",  # 08:00 EDT
            H24: "2026-06-11 23:00",
            H72: "2026-06-13 23:00",
            INFECTION: "2026-06-17 23:00",
        },
    ),
    Case(
        "New York 19:00 EDT, near: the 2 h check goes at 21:00 (thoracic window)",
        "America/New_York",
        "2026-06-10 23:00",
        NEAR,
        {
            H2: "2026-06-11 01:00",
            H24: "2026-06-11 23:00",
            H48: "2026-06-12 23:00",
            H72: "2026-06-13 23:00",
            INFECTION: "2026-06-17 23:00",
        },
    ),
    Case(
        "Madrid 23:30 CEST, near: 2/24/48 h at night on time, 72 h and a week at 08:00",
        "Europe/Madrid",
        "2026-06-10 21:30",
        NEAR,
        {
            H2: "2026-06-10 23:30",
            H24: "2026-06-11 21:30",
            H48: "2026-06-12 21:30",
            H72: "2026-06-14 06:00",  # 08:00 CEST on the 14th
            INFECTION: "2026-06-18 06:00",
        },
    ),
    Case(
        "Sydney 20:00 AEDT, far: 22:00 waits for 08:00 AEDT",
        "Australia/Sydney",
        "2026-12-10 09:00",
        FAR,
        {
            H2: "2026-12-10 21:00",
            H24: "2026-12-11 09:00",
            H72: "2026-12-13 09:00",
            INFECTION: "2026-12-17 09:00",
        },
    ),
    Case(
        "Los Angeles 20:00 PST the night before spring forward: morning is 08:00 PDT",
        "America/Los_Angeles",
        "2026-03-08 04:00",
        FAR,
        {
            H2: "2026-03-08 15:00",  # 08:00 PDT (-7), not 16:00 (08:00 PST)
            # elapsed 24 h is 21:00 PDT on the wall clock (quiet), so 08:00 PDT next day
            H24: "2026-03-09 15:00",
            H72: "2026-03-11 15:00",
            INFECTION: "2026-03-15 15:00",
        },
    ),
    Case(
        "New York 10:00 EST the day before spring forward: 24 h is 11:00 EDT (elapsed)",
        "America/New_York",
        "2026-03-07 15:00",
        NEAR,
        {
            H2: "2026-03-07 17:00",
            H24: "2026-03-08 15:00",
            H48: "2026-03-09 15:00",
            H72: "2026-03-10 15:00",
            INFECTION: "2026-03-14 15:00",
        },
    ),
    Case(
        "New York 10:00 EDT the day before fall back: 24 h is 09:00 EST (elapsed)",
        "America/New_York",
        "2026-10-31 14:00",
        FAR,
        {
            H2: "2026-10-31 16:00",
            H24: "2026-11-01 14:00",
            H72: "2026-11-03 14:00",
            INFECTION: "2026-11-07 14:00",
        },
    ),
    Case(
        "Quiet hours not crossing midnight (13:00-15:00 siesta), UTC, far",
        "UTC",
        "2026-06-10 11:30",
        FAR,
        {
            H2: "2026-06-10 15:00",
            H24: "2026-06-11 11:30",
            H72: "2026-06-13 11:30",
            INFECTION: "2026-06-17 11:30",
        },
        QuietHours.parse("13:00", "15:00"),
    ),
    Case(
        "No quiet hours (start equals end): night times stay",
        "UTC",
        "2026-06-10 22:00",
        FAR,
        {
            H2: "2026-06-11 00:00",
            H24: "2026-06-11 22:00",
            H72: "2026-06-13 22:00",
            INFECTION: "2026-06-17 22:00",
        },
        QuietHours.parse("00:00", "00:00"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_rule_by_rule(kb_core: KnowledgeBase, case: Case) -> None:
    got = plan(kb_core, case.performed, case.lung, case.zone, case.quiet)
    assert got == {rule: utc(when) for rule, when in case.expected.items()}


# ------------------------------------------------------------------ gaps and folds


@dataclass
class EdgeCase:
    name: str
    zone: str
    performed: str
    quiet: tuple[str, str]
    expected_2h: str


DST_EDGES = [
    EdgeCase(
        # 02:30 does not exist on 8 March in New York: read as 02:30 EST = 03:30 EDT
        "US spring-forward gap: quiet end 02:30 → 07:30 UTC",
        "America/New_York",
        "2026-03-08 03:30",  # 22:30 EST on the 7th; 2 h later 00:30 EST, quiet
        ("22:00", "02:30"),
        "2026-03-08 07:30",
    ),
    EdgeCase(
        # 01:30 happens twice on 1 November in New York: the first (EDT) is taken
        "US fall-back fold: quiet end 01:30 → first occurrence 05:30 UTC",
        "America/New_York",
        "2026-11-01 02:30",  # 22:30 EDT on the 31st; 2 h later 00:30 EDT, quiet
        ("22:00", "01:30"),
        "2026-11-01 05:30",
    ),
    EdgeCase(
        "EU spring-forward gap: Madrid quiet end 02:30 → 02:30 CET = 01:30 UTC",
        "Europe/Madrid",
        "2026-03-28 21:30",  # 22:30 CET; 2 h later 00:30 CET, quiet
        ("22:00", "02:30"),
        "2026-03-29 01:30",
    ),
    EdgeCase(
        "EU fall-back fold: Madrid quiet end 02:30 → first (CEST) = 00:30 UTC",
        "Europe/Madrid",
        "2026-10-24 20:30",  # 22:30 CEST; 2 h later 00:30 CEST, quiet
        ("22:00", "02:30"),
        "2026-10-25 00:30",
    ),
    EdgeCase(
        "Sydney fall-back fold (5 April): quiet end 02:30 → first (AEDT) = 15:30 UTC",
        "Australia/Sydney",
        "2026-04-04 11:30",  # 22:30 AEDT; 2 h later 00:30 AEDT, quiet
        ("22:00", "02:30"),
        "2026-04-04 15:30",
    ),
    EdgeCase(
        "Sydney spring-forward gap (4 October): quiet end 02:30 → 02:30 AEST = 16:30 UTC",
        "Australia/Sydney",
        "2026-10-03 12:30",  # 22:30 AEST; 2 h later 00:30 AEST, quiet
        ("22:00", "02:30"),
        "2026-10-03 16:30",
    ),
]


@pytest.mark.parametrize("case", DST_EDGES, ids=lambda c: c.name)
def test_quiet_hours_end_in_a_gap_or_fold(kb_core: KnowledgeBase, case: EdgeCase) -> None:
    got = plan(kb_core, case.performed, FAR, case.zone, QuietHours.parse(*case.quiet))
    assert got[H2] == utc(case.expected_2h)


def test_thoracic_check_in_a_gap_night_goes_at_its_exact_instant(kb_core: KnowledgeBase) -> None:
    # near the lung, the 2 h check falls at 01:15 EST on spring-forward night, inside
    # quiet hours: it goes at its instant (performed + 2 h), nothing is shifted
    got = plan(kb_core, "2026-03-08 04:15", NEAR, "America/New_York")
    assert got[H2] == utc("2026-03-08 06:15")


# ------------------------------------------------------------------ clinic overrides


def test_clinic_disables_a_rule(kb_core: KnowledgeBase) -> None:
    clinic = ClinicAftercare(disabled_rules=(H72, H2))
    result = plan_check_ins(
        utc("2026-06-10 10:00"),
        NEAR,
        ZoneInfo("UTC"),
        NIGHT,
        clinic,
        kb_core.data.aftercare_schedule,
        utc("2026-06-10 10:00"),
    )
    assert [m.rule for m in result.invitations] == [H24, H48, INFECTION]
    assert {(s.rule, s.reason) for s in result.skipped} == {
        (H2, "switched off by the clinic"),
        (H72, "switched off by the clinic"),
    }


def test_the_chest_safety_net_cannot_be_switched_off(kb_core: KnowledgeBase) -> None:
    clinic = ClinicAftercare(disabled_rules=(H48,))
    result = plan_check_ins(
        utc("2026-06-10 10:00"),
        NEAR,
        ZoneInfo("UTC"),
        NIGHT,
        clinic,
        kb_core.data.aftercare_schedule,
        utc("2026-06-10 10:00"),
    )
    chest = next(m for m in result.invitations if m.rule == H48)
    assert chest.due_at == utc("2026-06-12 10:00")
    assert chest.thoracic
    assert any("required" in reason for reason in chest.reasons)


def test_clinic_hours_inside_the_range_are_used_outside_ignored(kb_core: KnowledgeBase) -> None:
    clinic = ClinicAftercare(hours={H24: 30, H72: 200, INFECTION: 240})
    got = plan(kb_core, "2026-06-10 10:00", FAR, clinic=clinic)
    assert got[H24] == utc("2026-06-11 16:00")  # 30 h
    assert got[H72] == utc("2026-06-13 10:00")  # 200 h is outside 60-96 h: default 72 h
    assert got[INFECTION] == utc("2026-06-20 10:00")  # 240 h


def test_reminders_follow_their_invitation(kb_core: KnowledgeBase) -> None:
    for clinic, hours in ((ClinicAftercare(), 4.0), (ClinicAftercare(reminder_hours=2), 2.0)):
        result = plan_check_ins(
            utc("2026-06-10 08:00"),
            NEAR,
            ZoneInfo("UTC"),
            QuietHours.parse("00:00", "00:00"),
            clinic,
            kb_core.data.aftercare_schedule,
            utc("2026-06-10 08:00"),
        )
        pairs = list(zip(result.messages[::2], result.messages[1::2], strict=True))
        assert len(pairs) == 5
        for invitation, reminder in pairs:
            assert (invitation.kind, reminder.kind) == ("check-in", "check-in-reminder")
            assert reminder.rule == invitation.rule
            assert reminder.due_at == invitation.due_at + timedelta(hours=hours)
            assert reminder.thoracic is invitation.thoracic


def test_a_reminder_due_at_night_waits_unless_thoracic(kb_core: KnowledgeBase) -> None:
    # 17:00 UTC session: 2 h check at 19:00, its reminder 23:00 (quiet)
    for lung, expected in ((FAR, "2026-06-11 08:00"), (NEAR, "2026-06-10 23:00")):
        result = plan_check_ins(
            utc("2026-06-10 17:00"),
            lung,
            ZoneInfo("UTC"),
            NIGHT,
            ClinicAftercare(),
            kb_core.data.aftercare_schedule,
            utc("2026-06-10 17:00"),
        )
        reminder = result.messages[1]
        assert (reminder.kind, reminder.rule) == ("check-in-reminder", H2)
        assert reminder.due_at == utc(expected)


# ------------------------------------------------------------------ recorded late


def test_a_session_recorded_late_gets_only_what_is_still_useful(kb_core: KnowledgeBase) -> None:
    result = plan_check_ins(
        utc("2026-06-10 10:00"),
        NEAR,
        ZoneInfo("UTC"),
        NIGHT,
        ClinicAftercare(),
        kb_core.data.aftercare_schedule,
        utc("2026-06-13 11:00"),  # 73 h later: the 72 h check is 1 h late
    )
    assert [m.rule for m in result.invitations] == [H72, INFECTION]
    late = result.invitations[0]
    assert late.due_at == utc("2026-06-13 11:00")
    assert "sent at once" in late.reasons[-1]
    assert result.messages[1].due_at == utc("2026-06-13 15:00")  # its reminder
    assert [s.rule for s in result.skipped] == [H2, H24, H48]


def test_every_message_explains_itself(kb_core: KnowledgeBase) -> None:
    result = plan_check_ins(
        utc("2026-06-10 21:30"),
        NEAR,
        ZoneInfo("Europe/Madrid"),
        NIGHT,
        ClinicAftercare(),
        kb_core.data.aftercare_schedule,
        utc("2026-06-10 21:30"),
    )
    for message in result.messages:
        assert message.reasons
        assert message.rule in message.reasons[0]
    moved = next(m for m in result.invitations if m.rule == H72)
    assert "moved out of quiet hours 21:00-08:00 to 08:00 local" in moved.reasons
    kept = result.invitations[0]
    assert any("thoracic safety window" in r for r in kept.reasons)


@pytest.mark.parametrize("bad", ["24:00", "7:00", "", "ab:cd", "12:60"])
def test_quiet_hours_must_be_hh_mm(bad: str) -> None:
    with pytest.raises(ValueError, match="quiet_hours_start"):
        QuietHours.parse(bad, "08:00")


def test_naive_times_are_refused(kb_core: KnowledgeBase) -> None:
    with pytest.raises(ValueError, match="time zone"):
        plan_check_ins(
            datetime(2026, 6, 10, 10),  # a naive time: the point of the test
            NEAR,
            ZoneInfo("UTC"),
            NIGHT,
            ClinicAftercare(),
            kb_core.data.aftercare_schedule,
            utc("2026-06-10 10:00"),
        )
