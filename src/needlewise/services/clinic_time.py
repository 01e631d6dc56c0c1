"""The clinic's own clock: its time zone for every time a page, a message or a report shows.

Times are stored in UTC. A clinic names its IANA time zone (``Clinic.time_zone``, e.g.
``America/Chicago``; set on the admin's clinic page, default ``UTC``) and everything a
person reads is shown in it, with the zone's abbreviation (``2026-12-08 09:30 CST``), so
a front desk in Texas never reads a check-in's time in UTC. Scheduled check-ins and
quiet hours are computed in the same zone.

:class:`ClinicZones` keeps each clinic's zone for a minute per process (one per
:class:`~needlewise.services.runtime.Runtime`): pages do not read the clinic row on every
request. A change on the admin page drops the entry at once in this process; other
processes follow within the minute.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from needlewise.errors import InputError
from needlewise.persistence.db import Database
from needlewise.persistence.models import Clinic

#: seconds a clinic's zone is remembered by a process
KEEP_SECONDS = 60.0
#: how times are shown unless a page asks for less (the date only)
DEFAULT_FORMAT = "%Y-%m-%d %H:%M"


def parse_zone(name: str, where: str = "time_zone") -> ZoneInfo:
    """``name`` as a time zone; an ``InputError`` at ``where`` unless it is an IANA zone
    name such as ``America/New_York`` (abbreviations such as ``EST`` are refused: they do
    not say when daylight saving time starts)."""
    text = name.strip()
    if not text or text not in _zone_names():
        raise InputError(
            f"{name!r} is not a time zone name; use one like America/New_York or Europe/Madrid",
            where,
        )
    return ZoneInfo(text)


def _zone_names() -> frozenset[str]:
    names = _ZONE_NAMES.get("names")
    if names is None:
        names = frozenset(n for n in available_timezones() if "/" in n or n == "UTC") - frozenset(
            {"posixrules"}
        )
        _ZONE_NAMES["names"] = names
    return names


_ZONE_NAMES: dict[str, frozenset[str]] = {}


def zone_of(clinic: Clinic) -> ZoneInfo:
    """The clinic's zone; UTC when the stored name is not one this host knows (logged by
    the admin page when it is set, so this only happens after a zone database change)."""
    try:
        return ZoneInfo(clinic.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(moment: datetime | None, zone: ZoneInfo, fmt: str = DEFAULT_FORMAT) -> str:
    """``moment`` (UTC, or naive meaning UTC) as the clinic reads it, with the zone's
    abbreviation when the format shows a time; a dash for no time."""
    if moment is None:
        return "\u2013"
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    shown = aware.astimezone(zone)
    text = shown.strftime(fmt)
    if "%H" in fmt:
        text = f"{text} {shown.tzname()}"
    return text


@dataclass(eq=False)
class ClinicZones:
    """Each clinic's zone, remembered for :data:`KEEP_SECONDS` (see the module docstring)."""

    keep_seconds: float = KEEP_SECONDS
    _zones: dict[int, tuple[ZoneInfo, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def zone(self, db: Database, clinic_id: int | None) -> ZoneInfo:
        """The zone of ``clinic_id`` (UTC for none or an unknown clinic)."""
        if clinic_id is None:
            return ZoneInfo("UTC")
        kept = self._zones.get(clinic_id)
        if kept is not None and kept[1] > time.monotonic():
            return kept[0]
        with db.read() as tx:
            clinic = tx.get(Clinic, clinic_id)
            zone = zone_of(clinic) if clinic is not None else ZoneInfo("UTC")
        with self._lock:
            self._zones[clinic_id] = (zone, time.monotonic() + self.keep_seconds)
        return zone

    def forget(self, clinic_id: int) -> None:
        """Drop the kept zone of ``clinic_id`` (its admin just changed it)."""
        with self._lock:
            self._zones.pop(clinic_id, None)
