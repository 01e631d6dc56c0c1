"""The audit log's hash chain: each entry carries a hash over its own fields and the hash
of the entry before it, so a changed, removed or inserted entry shows.

``hash = sha256(canonical(entry, previous hash))`` where ``canonical`` is a JSON array:
the format tag ``nw-audit-1``, then ``id``, ``at`` (UTC, microseconds,
``2026-11-26T10:00:00.000000Z``), ``actor``, ``action``, ``resource_type``,
``resource_id``, ``patient_id``, ``clinic_id``, ``remote``, ``outcome``, ``reason``
(``null`` when absent), then the previous entry's hash (64 zeros before the first),
serialised with no spaces and ASCII escapes. Anyone can recompute it (:func:`chain_hash`).

Appending (:func:`append` for SQLAlchemy Core rows; for ORM objects
:func:`needlewise.persistence.models.audit.stamp_entries`, called by a ``before_flush``
hook on every session) is serialised per database
so the chain never forks: on PostgreSQL a transaction-scoped advisory lock
(``pg_advisory_xact_lock``), held from the first audited flush until commit, makes
writers in every app process take turns; on SQLite the write transaction (``BEGIN
IMMEDIATE``) already admits one writer at a time. Under the lock the appender reads the
chain head and gives the new entries the next ids (head id + 1, + 2, …), so the chain
order is the id order. ``services.audit.record`` adds its entries as the transaction
commits, and the check-in batch appends after its other inserts, so the lock is held
only for the end of a transaction.

The functions that read or write the log take its table
(:func:`needlewise.persistence.models.audit.audit_table`): this module knows the chain,
the model module knows the table. :func:`walk` checks a chain. The hash has no secret: someone who can rewrite the table
can recompute every hash after the entry they changed. Keep the head (id and hash,
printed by ``needlewise audit verify``) somewhere else now and then and check against
it (``--anchor``) to catch that too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select, text

FORMAT = "nw-audit-1"
GENESIS = "0" * 64
LOCK_KEY = 8_250_012  # arbitrary, constant: the advisory lock of the chain (migrations: ..11)
_TEXT = ("actor", "action", "resource_type", "resource_id", "remote", "outcome", "reason")
_INTEGER = ("id", "patient_id", "clinic_id")
FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "clinic_id",
    "remote",
    "outcome",
    "reason",
)


def _at(value: Any) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError("an audit entry's time must be a timezone-aware datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: Mapping[Any, Any], previous: str) -> bytes:
    """The bytes hashed for ``entry`` (a mapping of the column values) after ``previous``."""
    values: list[Any] = [FORMAT]
    for name in FIELDS:
        value = entry.get(name)
        if name == "at":
            values.append(_at(value))
        elif value is None:
            values.append(None)
        elif name in _INTEGER:
            values.append(int(value))
        else:
            values.append(str(value))
    values.append(previous)
    return json.dumps(values, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def chain_hash(entry: Mapping[Any, Any], previous: str) -> str:
    """The hash ``entry`` must carry when it follows an entry whose hash is ``previous``."""
    return hashlib.sha256(canonical(entry, previous)).hexdigest()


def head(connection: Connection, table: Table) -> tuple[int, str]:
    """Take the chain lock (PostgreSQL) and return the newest entry's (id, hash) in
    ``table``, or ``(0, GENESIS)`` for an empty log. The lock is held until the
    transaction ends."""
    if connection.dialect.name == "postgresql":
        # its own statement: a READ COMMITTED snapshot taken before the lock was granted
        # would miss the entries of the transaction we waited for
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    row = connection.execute(
        select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return 0, GENESIS
    return int(row.id), str(row.hash)


def stamp(rows: Sequence[dict[str, Any]], start: tuple[int, str]) -> None:
    """Give each row (in order) the next id after ``start`` (the head: id and hash) and
    its chained hash, in place."""
    last_id, previous = start
    for row in rows:
        last_id += 1
        row["id"] = last_id
        row["hash"] = previous = chain_hash(row, previous)


def append(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert audit entries (column values; ``id`` and ``hash`` are assigned here) at the
    end of the chain in ``table``, on ``connection``, in its transaction."""
    if not rows:
        return
    stamped = [dict(row) for row in rows]
    stamp(stamped, head(connection, table))
    connection.execute(insert(table), stamped)


# ------------------------------------------------------------------ checking


@dataclass(frozen=True)
class Break:
    """An entry whose hash does not fit: ``id`` and what is wrong, in one line."""

    id: int
    problem: str


@dataclass(frozen=True)
class Step:
    """One entry as :func:`walk` checked it: its id and hash, and the break, if any."""

    id: int
    hash: str | None
    broken: Break | None


def walk(connection: Connection, table: Table, batch: int = 2000) -> Iterator[Step]:
    """Check every entry of ``table`` in id order, streaming (memory stays flat on a large
    log).

    After a broken entry the walk goes on from that entry's stored hash, so one changed
    entry breaks itself only, and an entry removed from the middle breaks the one after.
    """
    query = select(*(table.c[name] for name in FIELDS), table.c.hash).order_by(table.c.id)
    previous, previous_id = GENESIS, None
    result = connection.execution_options(yield_per=batch).execute(query)
    for row in result.mappings():
        stored = row["hash"]
        broken = None
        if stored is None:
            broken = Break(row["id"], "has no hash")
        elif stored != chain_hash(row, previous):
            problem = "its hash does not match its contents and the entry before it"
            if previous_id is not None and row["id"] != previous_id + 1:
                problem += f" (no entries {previous_id + 1}-{row['id'] - 1}: removed?)"
            else:
                problem += " (changed, or an entry before it was removed or changed)"
            broken = Break(row["id"], problem)
        yield Step(row["id"], stored, broken)
        previous, previous_id = stored or GENESIS, row["id"]
