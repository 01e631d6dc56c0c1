"""Stable resource ids, built from our row ids: ``patient-7``, ``session-12``,
``screening-4-finding-2`` … Each names the stored row it comes from (its *prefix* and
number), so a read finds the row again with :func:`parse`."""

from __future__ import annotations

import re

PATIENT = "patient"
SCREENING = "screening"
CHECK_IN = "check-in"
CONSENT = "consent"
SESSION = "session"
ADVERSE_EVENT = "adverse-event"
OUTCOME = "outcome"

#: the largest row id (32-bit on PostgreSQL)
MAX_ROW_ID = 2**31 - 1

PREFIXES = frozenset({PATIENT, SCREENING, CHECK_IN, CONSENT, SESSION, ADVERSE_EVENT, OUTCOME})
_ID = re.compile(r"^(?P<prefix>[a-z]+(?:-[a-z]+)?)-(?P<row>[1-9][0-9]{0,9})(?:-[a-z0-9]+)*$")


def patient(row_id: int) -> str:
    return f"{PATIENT}-{row_id}"


def of(prefix: str, row_id: int, *rest: str | int) -> str:
    """``prefix-row_id[-rest…]``."""
    return "-".join([prefix, str(row_id), *(str(part) for part in rest)])


def parse(resource_id: str) -> tuple[str, int] | None:
    """(prefix, row id) of one of our ids; ``None`` when it is not one."""
    found = _ID.match(resource_id)
    if found is None or found.group("prefix") not in PREFIXES:
        return None
    row = int(found.group("row"))
    return (found.group("prefix"), row) if row <= MAX_ROW_ID else None
