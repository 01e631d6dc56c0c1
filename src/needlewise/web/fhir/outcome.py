"""The FHIR facade's error dialect: every problem under ``/fhir`` is an OperationOutcome.

A :class:`~needlewise.web.errors.Problem` (status, code, message, location) becomes one
``issue`` with a FHIR ``IssueType`` code for the status, our own ``code`` in
``details.coding``, the plain message in ``diagnostics`` and the JSON path in
``expression``. Messages come from our services and codecs, which name the problem and
where, never the patient data that caused it.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import HTTPConnection
from starlette.responses import Response

from needlewise.web.errors import Problem

FHIR_JSON = "application/fhir+json"

#: the code system of our own error codes (``invalid-input``, ``not-found`` …)
ERROR_CODES = "https://needlewise.org/fhir/CodeSystem/error-code"

#: FHIR IssueType for each status (http://hl7.org/fhir/R4/valueset-issue-type.html)
_ISSUE_TYPE = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    428: "required",
    429: "throttled",
    503: "transient",
}


class FhirJson(Response):
    """``application/fhir+json`` rendered with orjson."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def operation_outcome(
    status: int, code: str, message: str, location: str | None = None
) -> dict[str, Any]:
    """An OperationOutcome with one issue (``error``; ``fatal`` for a server fault)."""
    issue: dict[str, Any] = {
        "severity": "fatal" if status >= 500 else "error",
        "code": _ISSUE_TYPE.get(status, "exception"),
        "details": {"coding": [{"system": ERROR_CODES, "code": code}], "text": message},
        "diagnostics": message,
    }
    if location:
        issue["expression"] = [location]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_dialect(_connection: HTTPConnection, problem: Problem) -> Response:
    """``problem`` as an OperationOutcome with its status (registered for ``/fhir``)."""
    error = problem.error
    body = operation_outcome(
        problem.status,
        str(error.get("code", "error")),
        str(error.get("message", "")),
        error.get("location"),
    )
    headers = dict(problem.headers) if problem.headers else None
    return FhirJson(body, status_code=problem.status, headers=headers)
