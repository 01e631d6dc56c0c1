"""Shared rules for stored records: optimistic concurrency and scoping to the clinic.

**One concurrency rule for every versioned record** (patients, consents, providers,
sessions, adverse events, users, the clinic): an edit names the version it was made
against (``If-Match``), and if that is no longer the stored version the edit is refused
with 412 Precondition Failed and changes nothing. Two cases reach that answer:

* the stored version is already newer when the edit reads the record
  (:func:`check_version`);
* two edits of the same version run at the same moment: both pass that check, and the
  database lets only the first ``UPDATE … WHERE version = N`` change the row. SQLAlchemy
  then raises ``StaleDataError`` for the second, which :func:`edit` turns into the same
  412 (on PostgreSQL; SQLite runs writers one at a time, so there the second edit always
  meets the first case).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from needlewise.errors import PreconditionFailed

if TYPE_CHECKING:
    from needlewise.persistence.db import Database

MAX_ID = 2**31 - 1
"""The largest record id (ids are 32-bit integers on PostgreSQL). Bound id inputs with it:
a larger integer cannot be bound as a SQLite parameter and would fail as a server error."""


def etag(kind: str, record_id: int, version: int) -> str:
    """Strong ETag of one version of a record (``"patient-7-v3"``). The web layer answers
    with it and reads it back from ``If-Match`` (:mod:`needlewise.web.etags`); use cases
    receive the version as a plain ``int``."""
    return f'"{kind}-{record_id}-v{version}"'


def check_version(kind: str, current: int, expected: int) -> None:
    """Refuse an update made against an older version (a lost update otherwise)."""
    if current != expected:
        raise PreconditionFailed(
            f"this {kind} was changed by someone else (now version {current}); "
            "reload it and apply your change again",
            current_version=current,
        )


def lost_race(kind: str) -> PreconditionFailed:
    """The refusal of an edit that lost a race with another edit of the same version."""
    return PreconditionFailed(
        f"this {kind} was changed by someone else at the same time; reload it and apply "
        "your change again"
    )


@contextmanager
def edit(db: Database, kind: str) -> Iterator[Session]:
    """``db.write()`` for changing one versioned record of ``kind``: an edit that loses a
    race with another edit of the same version is refused (412) like a stale ``If-Match``."""
    try:
        with db.write() as tx:
            yield tx
    except StaleDataError:
        raise lost_race(kind) from None
