"""A clinic's own aftercare settings, kept in ``clinics.aftercare`` (JSON).

Everything here is optional: what a clinic leaves out comes from the knowledge base (the
check-in schedule in ``knowledge/data/aftercare.yaml``) or from the deployment's settings
(``NEEDLEWISE_ALERT_REPEAT_MINUTES_*``). The admin's clinic page edits it; the scheduler
(:mod:`needlewise.services.aftercare_schedule`) and the escalation
(:mod:`needlewise.services.escalation`) read it through :func:`clinic_aftercare`.

* ``disabled_rules`` — schedule rule ids the clinic does not use (e.g. it phones every
  patient the next day itself). A rule the knowledge base marks ``required`` (the
  chest-wall safety net) cannot be switched off; the scheduler ignores it here.
* ``hours`` — the clinic's own delay for a rule, in hours after the session.
* ``reminder_hours`` — how long after an unanswered check-in its one reminder goes.
* ``alert_repeat_minutes`` — per disposition (``emergency``, ``call-provider``), how long
  an unacknowledged alert waits before it is sent again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from needlewise.errors import InputError

Disposition = Literal["emergency", "call-provider"]


class ClinicAftercare(BaseModel):
    """The clinic's changes to the aftercare defaults (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    disabled_rules: tuple[str, ...] = ()
    hours: dict[str, float] = Field(default_factory=dict)
    reminder_hours: float | None = Field(default=None, gt=0, le=72)
    alert_repeat_minutes: dict[Disposition, Annotated[int, Field(ge=1, le=24 * 60)]] = Field(
        default_factory=dict
    )


def clinic_aftercare(stored: dict[str, Any] | None) -> ClinicAftercare:
    """The clinic's stored settings; a stored value this version cannot read counts as
    none (the defaults are the safe choice) rather than stopping every schedule."""
    try:
        return ClinicAftercare.model_validate(stored or {})
    except ValidationError:
        return ClinicAftercare()


def parse_clinic_aftercare(data: Any, where: str = "aftercare") -> ClinicAftercare:
    """Validate what an admin sent; an ``InputError`` names the first bad field."""
    try:
        return ClinicAftercare.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in (where, *error["loc"]))
        raise InputError(str(error["msg"]), field) from None
