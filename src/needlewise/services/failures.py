"""What an exception from below the use cases means for the caller, when it is not a bug.

A door catches whatever a use case lets escape. Two kinds are not bugs, and
:func:`refusal_of` turns them into the refusal a door answers with:

* an edit that lost a race with another edit of the same version (SQLAlchemy's
  ``StaleDataError``, for a versioned record whose use case does not name its kind
  through :func:`needlewise.services.records.edit`): 412, like a stale ``If-Match``;
* a database fault (read-only, full, unreachable or busy database:
  :mod:`needlewise.persistence.faults`): 503 :class:`~needlewise.errors.Unavailable`,
  since the same request may succeed once the fault clears.

Anything else is a bug (``None``): the door answers 500 and tells nothing about it.
"""

from __future__ import annotations

from sqlalchemy.orm.exc import StaleDataError

from needlewise.errors import ServiceError, Unavailable
from needlewise.persistence.faults import fault_of
from needlewise.services.records import lost_race


def refusal_of(exc: BaseException) -> ServiceError | None:
    """The refusal ``exc`` stands for, or ``None`` when it is a bug."""
    if isinstance(exc, StaleDataError):
        return lost_race("record")
    fault = fault_of(exc)
    if fault is None:
        return None
    return Unavailable(fault.message(), reason=fault.reason, retry_after=fault.retry_after)
