"""Which check-in messages a session gets, and when (pure: no I/O, no clock).

Given the session's time, what was needled, the clinic's time zone and quiet hours, the
clinic's own aftercare settings and the knowledge base's rules
(``knowledge/data/aftercare.yaml``), :func:`plan_check_ins` returns the invitations to
send, each with its one reminder, and the rules it did not use, every one with its
reasons (rule id plus plain sentences such as "moved out of quiet hours 21:00-08:00").

How times are computed (documented choices, each covered by tests):

* **Elapsed time.** A rule's ``hours_after`` is elapsed time from the session (the
  clinical windows in clinical-knowledge.md §2.6 are elapsed time), so a 24 h check-in
  across a daylight-saving change arrives one wall-clock hour earlier or later.
* **Quiet hours** are local wall-clock "HH:MM" start and end in the clinic's zone and may
  cross midnight (21:00-08:00); start equal to end means none. A message whose local time
  is inside them moves to the next local end time (the morning) — unless the session was
  near the lung and the rule is in the thoracic window: then it goes at its time.
* **Daylight-saving gap and fold.** The instant of a message is always exact (UTC). Only
  the quiet-hours end can name a wall time that does not exist (the spring-forward gap)
  or exists twice (the fall-back fold). It is read with ``fold=0``: a time in a gap is
  the instant the clocks jumped past it (02:30 on a US spring-forward day is 03:30 new
  time), and a time in a fold is its first occurrence (the earlier instant).
* **Near the lung** (:func:`near_lung`): a muscle or region with ``near_lung`` true or
  unknown, a muscle or region id the knowledge base does not know, or a session with no
  muscles at all counts as near the lung. Missing data escalates, never de-escalates.
* **Recorded late.** An invitation more than ``late_entry_hours`` in the past at ``now``
  is not sent (a session entered days after the fact); one less late goes at once.
* **Clinic overrides.** A disabled rule is skipped unless it is ``required`` (the chest
  safety net); the clinic's own hours for a rule are used when they lie inside the rule's
  ``min_hours``..``max_hours`` (otherwise the default, with a reason); the clinic's
  reminder hours replace the default reminder delay.
* **Reminders.** One per invitation, ``reminder_hours`` after it, moved out of quiet hours
  in the same way (a thoracic invitation's reminder keeps the exception).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import AftercareSchedule, CheckInRule


class ClinicSettings(Protocol):
    """What the plan reads of a clinic's aftercare settings
    (``services/aftercare_config.py``: ``ClinicAftercare``)."""

    @property
    def disabled_rules(self) -> Sequence[str]: ...
    @property
    def hours(self) -> Mapping[str, float]: ...
    @property
    def reminder_hours(self) -> float | None: ...


_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock quiet hours; ``start == end`` means none."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        """From "HH:MM" strings; ``ValueError`` names the bad one."""
        return cls(_parse_hhmm(start, "quiet_hours_start"), _parse_hhmm(end, "quiet_hours_end"))

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, local: datetime, zone: ZoneInfo) -> datetime:
        """The instant quiet hours that contain ``local`` end (UTC; see the module doc)."""
        day: date = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        wall = datetime.combine(day, self.end, tzinfo=zone).replace(fold=0)
        return wall.astimezone(UTC)


def _parse_hhmm(value: str, where: str) -> time:
    found = _HHMM.match(value or "")
    if found is None:
        raise ValueError(f"{where}: {value!r} is not a time HH:MM")
    return time(int(found.group(1)), int(found.group(2)))


@dataclass(frozen=True)
class LungReading:
    """Whether the session counts as near the lung, and why."""

    near: bool
    reasons: tuple[str, ...]


def near_lung(
    kb: KnowledgeBase, muscles: Sequence[str] = (), regions: Sequence[str | None] = ()
) -> LungReading:
    """Near the lung when any needled muscle or region is (true or unknown), when an id
    is not in the knowledge base or a region is missing (``None``), or when nothing at all
    is given: missing data only ever escalates."""
    reasons: list[str] = []
    if not muscles and not regions:
        reasons.append("no muscle or region recorded: counted as near the lung")
    region_ids: list[str | None] = list(regions)
    for muscle_id in muscles:
        muscle = kb.muscle(muscle_id)
        if muscle is None:
            reasons.append(f"{muscle_id} is not in the knowledge base: counted as near the lung")
            continue
        if muscle.near_lung is True:
            reasons.append(f"{muscle_id} is near the lung")
        elif muscle.near_lung == "unknown":
            reasons.append(f"{muscle_id}: near the lung not confirmed either way, counted as near")
        region_ids.append(muscle.region)
    for region_id in dict.fromkeys(region_ids):
        region = kb.region(region_id) if region_id is not None else None
        if region is None:
            reasons.append(f"region {region_id or '(missing)'} unknown: counted as near the lung")
        elif region.near_lung is True:
            reasons.append(f"{region_id} is near the lung")
        elif region.near_lung == "unknown":
            reasons.append(f"{region_id}: near the lung not confirmed either way, counted as near")
    return LungReading(near=bool(reasons), reasons=tuple(reasons))


@dataclass(frozen=True)
class PlannedMessage:
    """One invitation (``kind`` check-in) or its reminder (``check-in-reminder``)."""

    kind: str
    rule: str
    hours_after: float
    due_at: datetime
    thoracic: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SkippedRule:
    rule: str
    reason: str


@dataclass(frozen=True)
class SchedulePlan:
    """The invitations in time order, each followed by its reminder, and what was skipped."""

    near_lung: LungReading
    messages: tuple[PlannedMessage, ...]
    skipped: tuple[SkippedRule, ...]

    @property
    def invitations(self) -> tuple[PlannedMessage, ...]:
        return tuple(m for m in self.messages if m.kind == "check-in")

    @property
    def earliest(self) -> datetime | None:
        return min((m.due_at for m in self.messages), default=None)

    @property
    def last(self) -> datetime | None:
        return max((m.due_at for m in self.messages), default=None)


def _hours(rule: CheckInRule, clinic: ClinicSettings) -> tuple[float, list[str]]:
    wanted = clinic.hours.get(rule.id)
    if wanted is None:
        return rule.hours_after, [f"{rule.id}: {_h(rule.hours_after)} after the session"]
    if rule.min_hours <= wanted <= rule.max_hours:
        return wanted, [f"{rule.id}: {_h(wanted)} after the session (the clinic's setting)"]
    return rule.hours_after, [
        f"{rule.id}: {_h(rule.hours_after)} after the session (the clinic's {_h(wanted)}"
        f" is outside {_h(rule.min_hours)}-{_h(rule.max_hours)}, so the default is used)"
    ]


def _h(hours: float) -> str:
    return f"{hours:g} h"


def _place(
    due: datetime, thoracic: bool, zone: ZoneInfo, quiet: QuietHours
) -> tuple[datetime, str | None]:
    local = due.astimezone(zone)
    if not quiet.contains(local.time()):
        return due, None
    if thoracic:
        return due, f"inside quiet hours {quiet.label} but sent on time (thoracic safety window)"
    moved = quiet.end_after(local, zone)
    return moved, f"moved out of quiet hours {quiet.label} to {moved.astimezone(zone):%H:%M} local"


def plan_check_ins(
    performed_at: datetime,
    lung: LungReading,
    zone: ZoneInfo,
    quiet: QuietHours,
    clinic: ClinicSettings,
    schedule: AftercareSchedule,
    now: datetime,
) -> SchedulePlan:
    """The plan for one session (see the module docstring for every rule it applies)."""
    if performed_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("performed_at and now must carry a time zone")
    start = performed_at.astimezone(UTC)
    defaults = schedule.defaults
    reminder_hours = clinic.reminder_hours or defaults.reminder_hours
    late_limit = now - timedelta(hours=defaults.late_entry_hours)
    messages: list[PlannedMessage] = []
    skipped: list[SkippedRule] = []
    for rule in schedule.rules:
        if rule.applies_to == "near-lung" and not lung.near:
            skipped.append(SkippedRule(rule.id, "nothing near the lung was needled"))
            continue
        disabled = rule.id in clinic.disabled_rules
        if disabled and not rule.required:
            skipped.append(SkippedRule(rule.id, "switched off by the clinic"))
            continue
        hours, reasons = _hours(rule, clinic)
        if disabled:
            reasons.append("the clinic switched it off, but it is required (chest safety net)")
        if rule.applies_to == "near-lung":
            reasons.append("needled near the lung")
        thoracic = rule.thoracic_window and lung.near
        due, moved = _place(start + timedelta(hours=hours), thoracic, zone, quiet)
        if moved:
            reasons.append(moved)
        if due < late_limit:
            skipped.append(
                SkippedRule(
                    rule.id,
                    f"already more than {_h(defaults.late_entry_hours)} past when the session"
                    " was recorded",
                )
            )
            continue
        if due < now:
            due = now
            reasons.append("the session was recorded late: sent at once")
        messages.append(PlannedMessage("check-in", rule.id, hours, due, thoracic, tuple(reasons)))
        reminder_reasons = [f"reminder {_h(reminder_hours)} after {rule.id} if unanswered"]
        reminder_due, moved = _place(due + timedelta(hours=reminder_hours), thoracic, zone, quiet)
        if moved:
            reminder_reasons.append(moved)
        messages.append(
            PlannedMessage(
                "check-in-reminder", rule.id, hours, reminder_due, thoracic, tuple(reminder_reasons)
            )
        )
    return SchedulePlan(lung, tuple(messages), tuple(skipped))
