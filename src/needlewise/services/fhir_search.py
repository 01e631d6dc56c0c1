"""The FHIR facade's search parameters, read strictly (``Prefer: handling=strict``).

Supported everywhere: ``_id``, ``_count`` (default 20; above 100 is read as 100, the
page size a server may lower by the spec; 0 returns only the total), ``_offset`` (our
paging cursor, written into the Bundle's ``next``/``previous`` links) and ``_format``
(checked by the door). ``patient`` on every patient-compartment type, ``identifier`` (``system|value``) on
Patient, ``date`` on the
types with a date (eq/lt/le/gt/ge prefixes; a date without a time covers the whole day
(month, year) in UTC; a time must carry its zone, as FHIR requires). Any other
parameter, a repeated one (``date`` aside, which ANDs), or a malformed value is refused
with 400 naming the parameter: a client never gets a broader search than it asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement

from needlewise.errors import ServiceError
from needlewise.interop.fhir.emit import ids

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 1_000_000
#: parameters every type takes (``_format`` is the door's; it is accepted here)
COMMON = frozenset({"_id", "_count", "_offset", "_format"})
PREFIXES = frozenset({"eq", "lt", "le", "gt", "ge"})

_DATE = re.compile(
    r"^(?P<prefix>[a-z]{2})?(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d{1,6})?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class BadSearch(ServiceError):
    """A search parameter we do not support, or a malformed value (400)."""

    status, code = 400, "invalid-search"

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message, location=parameter)


@dataclass(frozen=True)
class DateBound:
    """One ``date`` parameter: the comparison and the instant range its value covers."""

    prefix: str
    start: datetime
    end: datetime

    def condition(self, column: Any) -> ColumnElement[bool]:
        """``column`` compared as FHIR compares a value to this range."""
        if self.prefix == "lt":
            return column < self.start  # type: ignore[no-any-return]
        if self.prefix == "le":
            return column < self.end  # type: ignore[no-any-return]
        if self.prefix == "gt":
            return column >= self.end  # type: ignore[no-any-return]
        if self.prefix == "ge":
            return column >= self.start  # type: ignore[no-any-return]
        return (column >= self.start) & (column < self.end)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class SearchQuery:
    """A search, read: ``patient_row`` is our patient row id (``None``: any patient)."""

    patient_row: int | None = None
    resource_id: str | None = None
    #: Patient ``identifier``: (system, value); system ``None``: any system
    identifier: tuple[str | None, str] | None = None
    dates: tuple[DateBound, ...] = ()
    count: int = DEFAULT_COUNT
    offset: int = 0
    #: the parameters as given (minus ``_offset``), for the Bundle's links
    echoed: tuple[tuple[str, str], ...] = field(default=())


def _int(name: str, value: str, low: int, high: int | None) -> int:
    if not re.fullmatch(r"\d{1,9}", value) or int(value) < low:
        raise BadSearch(f"{name} must be a whole number of {low} or more", name)
    number = int(value)
    return min(number, high) if high is not None else number


def _offset(value: str) -> int:
    offset = _int("_offset", value, 0, None)
    if offset > MAX_OFFSET:
        raise BadSearch(f"_offset must be at most {MAX_OFFSET}", "_offset")
    return offset


def parse_date(value: str, name: str = "date") -> DateBound:
    """One ``date`` value (``ge2026-12-01``, ``2026-12``, ``lt2026-12-07T10:00:00Z`` …)."""
    found = _DATE.match(value)
    if found is None:
        raise BadSearch(
            f"{name} must be [eq|lt|le|gt|ge]YYYY[-MM[-DD[Thh:mm[:ss][Z|+hh:mm]]]]", name
        )
    prefix = found.group("prefix") or "eq"
    if prefix not in PREFIXES:
        raise BadSearch(f"{name} prefix {prefix!r} is not supported (eq, lt, le, gt, ge)", name)
    parts = found.groupdict()
    try:
        if parts["hour"] is None:
            year, month, day = int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1)
            start = datetime(year, month, day, tzinfo=UTC)
            if parts["day"] is not None:
                end = start + timedelta(days=1)
            elif parts["month"] is not None:
                end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            else:
                end = datetime(year + 1, 1, 1, tzinfo=UTC)
        else:
            if parts["zone"] is None:
                raise BadSearch(f"{name} with a time must give its zone (Z or +hh:mm)", name)
            text = value[len(found.group("prefix") or "") :].replace("Z", "+00:00")
            start = datetime.fromisoformat(text).astimezone(UTC)
            step = timedelta(seconds=1) if parts["second"] is not None else timedelta(minutes=1)
            start = start.replace(microsecond=0) if parts["second"] is not None else start
            end = start + step
    except ValueError:
        raise BadSearch(f"{name} is not a real date or time", name) from None
    return DateBound(prefix, start, end)


def patient_row(value: str) -> int:
    """Our patient row id from ``Patient/patient-7`` or ``patient-7``."""
    local = value.removeprefix("Patient/")
    parsed = ids.parse(local)
    if parsed is None or parsed[0] != ids.PATIENT or local != ids.patient(parsed[1]):
        raise BadSearch("patient must be Patient/patient-N (an id this server gave)", "patient")
    return parsed[1]


def identifier(value: str) -> tuple[str | None, str]:
    """A token ``system|value`` (``|value``: no system; ``value``: any system)."""
    system, bar, code = value.rpartition("|")
    if not code or len(value) > 600:
        raise BadSearch("identifier must be [system|]value", "identifier")
    return (system if bar else None), code


def parse_query(
    params: list[tuple[str, str]],
    date_param: str | None,
    patient_param: bool,
    identifier_param: bool = False,
) -> SearchQuery:
    """Read the query string of a search on a type whose date parameter is
    ``date_param`` (``date``, ``authored``, ``identified``, ``sent``; ``None``: none),
    which takes ``patient`` when ``patient_param`` and ``identifier`` (Patient) when
    ``identifier_param``."""
    optional = ("patient" if patient_param else None, "identifier" if identifier_param else None)
    allowed = {name for name in (date_param, *optional) if name}
    seen: set[str] = set()
    values: dict[str, str] = {}
    dates: list[DateBound] = []
    for name, value in params:
        if name not in COMMON and name not in allowed:
            raise BadSearch(f"search parameter {name!r} is not supported here", name)
        if name == date_param:
            dates.append(parse_date(value, name))
            continue
        if name in seen:
            raise BadSearch(f"{name} may be given once", name)
        seen.add(name)
        values[name] = value
    return SearchQuery(
        patient_row=patient_row(values["patient"]) if "patient" in values else None,
        resource_id=values.get("_id"),
        identifier=identifier(values["identifier"]) if "identifier" in values else None,
        dates=tuple(dates),
        count=_int("_count", values["_count"], 0, MAX_COUNT)
        if "_count" in values
        else DEFAULT_COUNT,
        offset=_offset(values["_offset"]) if "_offset" in values else 0,
        echoed=tuple((n, v) for n, v in params if n != "_offset"),
    )
