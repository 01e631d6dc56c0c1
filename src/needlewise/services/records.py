"""Shared rules for stored records: optimistic concurrency and scoping to the clinic."""

from __future__ import annotations

from needlewise.errors import PreconditionFailed

MAX_ID = 2**31 - 1
"""The largest record id (ids are 32-bit integers on PostgreSQL). Bound id inputs with it:
a larger integer cannot be bound as a SQLite parameter and would fail as a server error."""


def etag(kind: str, record_id: int, version: int) -> str:
    """Strong ETag of one version of a record (``"patient-7-v3"``)."""
    return f'"{kind}-{record_id}-v{version}"'


def parse_if_match(header: str | None, kind: str, record_id: int) -> int | None:
    """The version an ``If-Match`` header names, ``None`` when absent or not ours."""
    if not header:
        return None
    value = header.strip().removeprefix("W/")
    prefix = f'"{kind}-{record_id}-v'
    if value.startswith(prefix) and value.endswith('"') and value[len(prefix) : -1].isdigit():
        return int(value[len(prefix) : -1])
    return -1  # an ETag of another record or another format never matches


def check_version(kind: str, current: int, expected: int) -> None:
    """Refuse an update made against an older version (a lost update otherwise)."""
    if current != expected:
        raise PreconditionFailed(
            f"this {kind} was changed by someone else (now version {current}); "
            "reload it and apply your change again",
            current_version=current,
        )
