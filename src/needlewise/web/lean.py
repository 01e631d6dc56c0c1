"""Lean request handling for the hot endpoints (liveness, screening, triage, check-ins).

FastAPI re-derives, on every request, how to read each declared parameter and
dependency. For a screening request that generic work cost about as much as screening a
30-resource Bundle (~100 µs: ~35 µs per ``Depends``, ~40 µs for three query
parameters; see ``bench/README.md``). :class:`LeanRoute` builds, once per route, a plan
for the simple signatures the hot endpoints use and runs it directly:

* the :class:`~starlette.requests.Request` itself;
* ``Depends(f)`` where ``f`` is an ``async`` function whose only parameter is the
  ``Request`` (``staff(...)``, ``patient_link(...)``, ``knowledge``, ``runtime``: the
  aliases of :mod:`needlewise.web.api.deps`);
* scalar path and query parameters (strings, numbers, booleans, dates, literals and
  enums, optional or not), validated by the same field FastAPI built (so constraints,
  defaults and error locations are the same).

Dependencies run first, in declaration order, then parameters are validated and a
:class:`~fastapi.exceptions.RequestValidationError` lists every problem — the same
order and errors as FastAPI's own handler. The endpoint must be ``async`` and return a
``Response``.

**A route on a lean router that the plan cannot serve fails at start-up**: declaring it
raises :class:`NotLean`, naming the route and what stands in the way (a body model,
headers, cookies, list-valued parameters, a sync endpoint or dependency, a response
model, route-level dependencies). Put such a route on a plain ``APIRouter``. While
``app.dependency_overrides`` is not empty every request takes FastAPI's standard
handler (built with the plan, so tests that override dependencies see them honoured).
The OpenAPI document and the authorization tests read the route's declared
dependencies, which are unchanged.

Do not include a lean router with router-level ``dependencies``: the plan reads the
route's own signature only (``tests/web/test_lean.py`` checks that none is).

**FastAPI API used beyond its documented surface**, and why: the plan reads
``route.dependant`` (a :class:`fastapi.dependencies.models.Dependant`: the parameters
and dependencies FastAPI found in the signature — reading them rather than parsing the
signature again keeps the plan and FastAPI's handler from ever disagreeing on what a
parameter is), and validates each parameter with the field FastAPI built for it
(``ModelField.validate``, from ``fastapi._compat``: the very validator FastAPI's handler
calls, so error messages and locations match byte for byte). Everything else —
``APIRoute.get_route_handler``, ``dependency_overrides``, ``RequestValidationError``,
pydantic's ``FieldInfo`` — is public.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
RequestDependency = Callable[[Request], Awaitable[Any]]

#: types a single query or path value is validated into
_SCALARS = (str, int, float, Decimal, date, time, timedelta, UUID, Enum)


class NotLean(TypeError):
    """A route on a lean router whose signature the lean plan cannot serve."""


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    alias: str
    source: str  # "path" or "query"
    field: Any  # fastapi's ModelField: .validate(loc=...) with FastAPI's error shape
    required: bool
    default: Any  # scalar parameters only, so an immutable value


@dataclass(frozen=True, slots=True)
class LeanPlan:
    """How to call one endpoint without FastAPI's per-request dependency solving."""

    endpoint: Callable[..., Awaitable[Any]]
    request_name: str | None
    dependencies: tuple[tuple[str, RequestDependency], ...]
    params: tuple[_Param, ...]


def _needs(dependant: Dependant, *, params: bool) -> list[str]:
    """What ``dependant`` needs that the lean handler does not provide: headers,
    cookies, a body, a websocket, the connection, the response, background tasks or
    security scopes (and, with ``params=False``, path or query parameters)."""
    needs = {
        "header parameters": bool(dependant.header_params),
        "cookie parameters": bool(dependant.cookie_params),
        "a body parameter": bool(dependant.body_params),
        "path or query parameters": not params
        and bool(dependant.path_params or dependant.query_params),
        "a WebSocket": dependant.websocket_param_name is not None,
        "the HTTPConnection": dependant.http_connection_param_name is not None,
        "the Response": dependant.response_param_name is not None,
        "BackgroundTasks": dependant.background_tasks_param_name is not None,
        "SecurityScopes": dependant.security_scopes_param_name is not None,
    }
    return [need for need, present in needs.items() if present]


def _dependency_problem(dependant: Dependant) -> str | None:
    """Why ``dependant`` is not an ``async`` dependency of the Request alone (or None)."""
    call = dependant.call
    if call is None or not inspect.iscoroutinefunction(call):
        return "is not an async function"
    if dependant.dependencies:
        return "has dependencies of its own"
    needs = _needs(dependant, params=False)
    if needs:
        return "takes " + ", ".join(needs)
    if dependant.request_param_name is None:
        return "does not take the Request"
    return None


def is_scalar(annotation: Any) -> bool:
    """True when ``annotation`` takes one value: a scalar type, a ``Literal``, or an
    optional or union of them (``Annotated`` metadata is looked through)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return is_scalar(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return all(is_scalar(arg) for arg in get_args(annotation) if arg is not type(None))
    if origin is Literal:
        return True
    return isinstance(annotation, type) and issubclass(annotation, _SCALARS)


def _problems(route: APIRoute) -> list[str]:
    """Everything in ``route``'s signature that the lean plan cannot serve."""
    dependant = route.dependant
    problems = []
    if not inspect.iscoroutinefunction(dependant.call):
        problems.append("the endpoint is not an async function")
    if route.response_model is not None:
        problems.append("it declares a response model")
    if route.dependencies:
        problems.append("it has route-level dependencies")
    problems += [f"it takes {need}" for need in _needs(dependant, params=True)]
    for sub in dependant.dependencies:
        problem = _dependency_problem(sub)
        if problem is not None:
            problems.append(f"its dependency {sub.name or sub.call!r} {problem}")
    for field in (*dependant.path_params, *dependant.query_params):
        if not is_scalar(field.field_info.annotation):
            problems.append(f"its parameter {field.name!r} is not a single value")
    return problems


def lean_plan(route: APIRoute) -> LeanPlan:
    """The lean plan for ``route``; :class:`NotLean` when its signature needs FastAPI's
    handler, naming every reason."""
    problems = _problems(route)
    if problems:
        methods = ",".join(sorted(route.methods or ()))
        raise NotLean(
            f"{methods} {route.path} ({route.name}) cannot be on the lean fast path: "
            + "; ".join(problems)
            + ". Declare it on a plain APIRouter (see needlewise.web.lean)."
        )
    dependant = route.dependant
    assert dependant.call is not None
    dependencies: list[tuple[str, RequestDependency]] = []
    for sub in dependant.dependencies:
        assert sub.name is not None
        assert sub.call is not None
        dependencies.append((sub.name, sub.call))
    params: list[_Param] = []
    for source, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
        for field in fields:
            required = bool(field.field_info.is_required())
            default = None if required else field.field_info.get_default(call_default_factory=True)
            params.append(_Param(field.name, field.alias, source, field, required, default))
    return LeanPlan(
        dependant.call, dependant.request_param_name, tuple(dependencies), tuple(params)
    )


def _missing(source: str, alias: str) -> dict[str, Any]:
    return {"type": "missing", "loc": (source, alias), "msg": "Field required", "input": None}


def lean_handler(plan: LeanPlan, standard: Handler) -> Handler:
    """The request handler for ``plan``; ``standard`` is FastAPI's (for overrides)."""

    async def handler(request: Request) -> Response:
        if request.app.dependency_overrides:
            return await standard(request)
        values: dict[str, Any] = {}
        results: dict[RequestDependency, Any] = {}
        for name, dependency in plan.dependencies:
            if dependency not in results:  # FastAPI's per-request dependency cache
                results[dependency] = await dependency(request)
            values[name] = results[dependency]
        errors: list[dict[str, Any]] = []
        for param in plan.params:
            source = request.path_params if param.source == "path" else request.query_params
            raw = source.get(param.alias)
            if raw is None:
                if param.required:
                    errors.append(_missing(param.source, param.alias))
                else:
                    values[param.name] = param.default
                continue
            value, problems = param.field.validate(raw, values, loc=(param.source, param.alias))
            if problems:
                errors.extend(problems)
            else:
                values[param.name] = value
        if errors:
            raise RequestValidationError(errors)
        if plan.request_name is not None:
            values[plan.request_name] = request
        response = await plan.endpoint(**values)
        if not isinstance(response, Response):
            raise TypeError(f"{plan.endpoint.__name__} must return a Response on a LeanRoute")
        return response

    return handler


class LeanRoute(APIRoute):
    """An ``APIRoute`` served by :func:`lean_handler`.

    Use it as ``APIRouter(route_class=LeanRoute)`` for routers whose endpoints are hot
    paths. Declaring a route the plan cannot serve raises :class:`NotLean`.
    """

    def get_route_handler(self) -> Handler:
        plan = lean_plan(self)
        return lean_handler(plan, super().get_route_handler())


def is_lean(route: APIRoute) -> bool:
    """True when ``route`` is served by the lean handler (for tests and docs)."""
    return isinstance(route, LeanRoute)
