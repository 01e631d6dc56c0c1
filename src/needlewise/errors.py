"""Errors every door (CLI, API, web) turns into a clear message and a proper status.

:class:`InputError` means the caller sent something unusable: the message says what is
wrong and ``where`` says where (a JSON path such as ``$.entry[2].resource.status``).
Nothing has been changed when it is raised. It never carries patient data beyond the
location and the offending field's type or code.
"""

from __future__ import annotations

from typing import TypeVar


class InputError(ValueError):
    """Unusable input. ``str(error)`` is one line: ``<where>: <problem>``."""

    def __init__(self, problem: str, where: str = "$") -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"

    def to_json(self) -> dict[str, str]:
        return {"code": "invalid-input", "message": self.problem, "location": self.where}


class ServiceError(Exception):
    """A request the service refuses. Each subclass maps to one HTTP status."""

    status = 400
    code = "error"
    #: the service already wrote this refusal's audit entry (see :func:`audited`), so
    #: the door must not write a second one
    audited = False

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "location": None, **self.detail}

    def retry_after(self) -> int | None:
        """Seconds after which the same request may succeed (a door's ``Retry-After``)."""
        value = self.detail.get("retry_after")
        return value if isinstance(value, int) else None


E = TypeVar("E", bound=ServiceError)


def audited(error: E) -> E:
    """Mark ``error`` as a refusal whose audit entry its service has already written."""
    error.audited = True
    return error


class Unauthorized(ServiceError):
    """Not logged in, or the session or token expired."""

    status, code = 401, "unauthorized"


class Forbidden(ServiceError):
    """Logged in, but this role may not do this (or a CSRF check failed)."""

    status, code = 403, "forbidden"


class NotFound(ServiceError):
    """No such record (or not visible to this actor)."""

    status, code = 404, "not-found"


class Conflict(ServiceError):
    """The request conflicts with the current state (e.g. a duplicate email)."""

    status, code = 409, "conflict"


class Gone(ServiceError):
    """A patient link that has expired, was revoked, or was already used."""

    status, code = 410, "gone"


class PreconditionFailed(ServiceError):
    """``If-Match`` names an older version: someone else changed the record first."""

    status, code = 412, "precondition-failed"


class RuleViolation(ServiceError):
    """A clinical or legal rule forbids this; ``rule`` and ``sources`` say which."""

    status, code = 422, "rule-violation"


class PreconditionRequired(ServiceError):
    """An update without ``If-Match``: send the ETag you read, so no edit is lost."""

    status, code = 428, "precondition-required"


class TooManyRequests(ServiceError):
    """Too many failed logins; ``retry_after`` is in seconds."""

    status, code = 429, "too-many-requests"


class Unavailable(ServiceError):
    """The database cannot take the request now (read-only, full, unreachable, busy: see
    :mod:`needlewise.persistence.faults`). The same request may succeed once the fault
    clears; the message says when in words, :meth:`retry_after` in seconds (not in the
    body)."""

    status, code = 503, "database-unavailable"

    def __init__(self, message: str, *, reason: str, retry_after: int) -> None:
        super().__init__(message)
        self.reason = reason
        self._retry_after = retry_after

    def retry_after(self) -> int | None:
        return self._retry_after


class NotReady(ServiceError):
    """This process cannot serve requests now (its database is out of reach or out of date)."""

    status, code = 503, "not-ready"
