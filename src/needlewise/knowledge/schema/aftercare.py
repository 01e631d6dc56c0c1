"""The check-in schedule after a session (``knowledge/data/aftercare.yaml``).

Each :class:`CheckInRule` says how many hours after the session a check-in invitation
goes, whether it is only for sessions that needled near the lung (``applies_to``),
whether it falls in the thoracic safety window (it then goes at its time even during the
clinic's quiet hours), and whether a clinic may switch it off (``required`` rules — the
chest-wall safety net — may not). The timing is a design choice (``evidence: design``)
citing the facts that motivate it. :class:`ScheduleDefaults` holds the reminder delay and
how quiet hours are handled. :mod:`needlewise.domain.check_in_schedule` applies them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from needlewise.knowledge.schema.common import Provenance, Text

__all__ = ["AftercareSchedule", "CheckInRule", "ScheduleDefaults"]

CheckInRuleId = Annotated[str, StringConstraints(pattern=r"^aftercare\.check-in-[a-z0-9-]+$")]


class CheckInRule(Provenance):
    """One scheduled check-in invitation (see the module docstring)."""

    id: CheckInRuleId
    title: Text
    #: why the patient is asked at this time (shown to the clinician, may reach the patient)
    purpose: Text
    hours_after: float = Field(gt=0, le=24 * 30)
    #: ``all`` sessions, or only ``near-lung`` ones (a needled muscle or region with
    #: ``near_lung`` true or unknown; a muscle the knowledge base does not know counts too)
    applies_to: Literal["all", "near-lung"]
    #: inside the thoracic safety window after near-lung needling: never held back by
    #: quiet hours when the session was near the lung
    thoracic_window: bool
    #: a clinic cannot switch it off (``ClinicAftercare.disabled_rules`` is ignored)
    required: bool
    #: the range a clinic's own ``hours`` for this rule must fall in
    min_hours: float = Field(gt=0)
    max_hours: float = Field(gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> CheckInRule:
        if not self.min_hours <= self.hours_after <= self.max_hours:
            raise ValueError(f"{self.id}: hours_after must lie within min_hours..max_hours")
        return self


class ScheduleDefaults(Provenance):
    """The reminder delay and the quiet-hours handling every rule shares."""

    #: hours after an unanswered invitation its one reminder goes (clinic may override)
    reminder_hours: float = Field(gt=0, le=72)
    #: ``next-morning``: a message due inside quiet hours goes when they end, unless the
    #: session was near the lung and the rule is in the thoracic window
    quiet_hours: Literal["next-morning"]
    #: quiet hours of a clinic that has not set its own (local "HH:MM")
    quiet_hours_start: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    quiet_hours_end: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #: an invitation already more than this many hours in the past when the session is
    #: recorded (a session entered after the fact) is not scheduled at all
    late_entry_hours: float = Field(gt=0, le=72)
    #: how long after the last planned message (plus its reminder) the check-in link works
    link_margin_hours: float = Field(gt=0, le=24 * 14)
    explanation: Text


class AftercareSchedule(Provenance):
    """``aftercare.yaml``: the defaults and the rules, in time order."""

    id: Literal["aftercare.schedule"]
    defaults: ScheduleDefaults
    rules: list[CheckInRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> AftercareSchedule:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"aftercare rules: {rule.id} is listed twice")
            seen.add(rule.id)
        return self
