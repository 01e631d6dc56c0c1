"""Errors, answered in the dialect of the door the request came through.

Every error the app answers is first made a :class:`Problem` (status, the error object
of :class:`~needlewise.web.responses.ErrorResponse`, headers), in one place per kind of
exception:

* a :class:`~needlewise.errors.ServiceError` a use case raised (its own status; a
  refusal after authentication is audited: :mod:`needlewise.web.refusals`);
* an :class:`~needlewise.errors.InputError` (400 for a body that is not JSON, else 422);
* FastAPI's parameter validation (400 / 422 naming the parameter or JSON path);
* Starlette's HTTP errors (404, 405, 413, 415 …);
* and, from :class:`needlewise.web.middleware.InternalErrors`, a database fault (503)
  or a bug (500, nothing of the request echoed).

Then :func:`render_problem` answers it in the dialect of the request's path: JSON by
default (``/api`` today, ``/cds-services`` later: the same error object). **A door with
another dialect registers it for its path prefix** — e.g. the HTML pages, in their own
module::

    add_error_dialect(app, "/app", render_error_page)  # (Request, Problem) -> Response

The longest registered prefix wins; the JSON dialect answers every other path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from needlewise.errors import InputError, ServiceError
from needlewise.services.documents import json_path
from needlewise.web.refusals import audit_refusal
from needlewise.web.responses import JsonBytes


@dataclass(frozen=True, slots=True)
class Problem:
    """An error to answer: its status, the error object (``code``, ``message``,
    ``location`` and any detail) and extra headers (``Retry-After``, ``Allow``)."""

    status: int
    error: Mapping[str, Any]
    headers: Mapping[str, str] | None = None


Dialect = Callable[[HTTPConnection, Problem], Response]

_HTTP_CODES = {
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
}


def problem(status: int, code: str, message: str, location: str | None = None) -> Problem:
    """A problem whose error object has only ``code``, ``message`` and ``location``."""
    return Problem(status, {"code": code, "message": message, "location": location})


def problem_of(exc: ServiceError) -> Problem:
    """The problem a service refusal stands for (``Retry-After`` when it says when)."""
    retry = exc.retry_after()
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return Problem(exc.status, exc.to_json(), headers)


def json_dialect(_connection: HTTPConnection, problem: Problem) -> Response:
    """``{"error": {...}}`` as ``application/json``: the API's (and CDS Hooks') errors."""
    headers = dict(problem.headers) if problem.headers else None
    return JsonBytes({"error": dict(problem.error)}, status_code=problem.status, headers=headers)


def add_error_dialect(app: FastAPI, prefix: str, dialect: Dialect) -> None:
    """Answer the problems of requests under ``prefix`` with ``dialect``."""
    dialects: dict[str, Dialect] = getattr(app.state, "error_dialects", {})
    app.state.error_dialects = {**dialects, prefix: dialect}


def render_problem(connection: HTTPConnection, problem: Problem) -> Response:
    """``problem`` in the dialect registered for the longest prefix of the request's path."""
    dialects: dict[str, Dialect] = getattr(connection.app.state, "error_dialects", {})
    path = connection.url.path
    matching = [prefix for prefix in dialects if path.startswith(prefix)]
    dialect = dialects[max(matching, key=len)] if matching else json_dialect
    return dialect(connection, problem)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    await audit_refusal(request, exc)  # a refusal after authentication is audited
    return render_problem(request, problem_of(exc))


async def _input_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputError)
    status = 400 if exc.problem.startswith(("not valid JSON", "the input is empty")) else 422
    code = "invalid-json" if status == 400 else "invalid-input"
    return render_problem(request, problem(status, code, exc.problem, exc.where))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return render_problem(request, problem(400, "invalid-json", "not valid JSON"))
    loc = tuple(first.get("loc", ()))
    where = (
        ".".join(str(p) for p in loc[1:])
        if loc[:1] in (("query",), ("path",))
        else json_path(loc[1:])
    )
    return render_problem(request, problem(422, "invalid-input", str(first.get("msg")), where))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http-error")
    found = problem(exc.status_code, code, str(exc.detail))
    headers = getattr(exc, "headers", None)  # e.g. Allow on 405
    return render_problem(request, Problem(found.status, found.error, headers))


def add_error_handlers(app: FastAPI) -> None:
    """Answer service refusals, bad input, failed parameter validation and Starlette's
    HTTP errors as :class:`Problem` s, in each path's dialect (JSON unless a door
    registered another: :func:`add_error_dialect`)."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
