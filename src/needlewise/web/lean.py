"""Lean request handling for the hot endpoints (liveness, screening, triage, check-ins).

FastAPI re-derives, on every request, how to read each declared parameter and
dependency. For a screening request that generic work cost about as much as screening a
30-resource Bundle (~100 µs: ~35 µs per ``Depends``, ~40 µs for three query
parameters; see ``bench/README.md``). :class:`LeanRoute` builds, once per route, a plan
for the simple signatures the hot endpoints use and runs it directly:

* the :class:`~starlette.requests.Request` itself;
* ``Depends(f)`` where ``f`` is an ``async`` function whose only parameter is the
  ``Request`` (``staff(...)``, ``patient_link(...)``, ``knowledge``);
* scalar path and query parameters, validated by the same pydantic field FastAPI built
  (so constraints, defaults and error locations are the same).

Dependencies run first, in declaration order, then parameters are validated and a
:class:`~fastapi.exceptions.RequestValidationError` lists every problem — the same
order and errors as FastAPI's own handler. The endpoint must be ``async`` and return a
``Response``. A route with anything else (a body model, headers, cookies, list-valued
parameters, a sync endpoint or dependency, a response model) silently gets FastAPI's
standard handler, and so does every request while ``app.dependency_overrides`` is not
empty. The OpenAPI document and the authorization tests read the route's declared
dependencies, which are unchanged.

Do not include a router using this route class with router-level ``dependencies``: the
lean plan reads the route's own signature only (``tests/web/test_lean.py`` checks that
none is).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
RequestDependency = Callable[[Request], Awaitable[Any]]


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


def _takes_only(dependant: Dependant, *, params: bool) -> bool:
    """True when ``dependant`` needs nothing the lean handler does not provide: no
    headers, cookies, body, websocket, connection, response, background tasks or
    security scopes (and, with ``params=False``, no path or query parameters either)."""
    return not (
        dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or (not params and (dependant.path_params or dependant.query_params))
        or dependant.websocket_param_name is not None
        or dependant.http_connection_param_name is not None
        or dependant.response_param_name is not None
        or dependant.background_tasks_param_name is not None
        or dependant.security_scopes_param_name is not None
    )


def _only_request(dependant: Dependant) -> bool:
    """True for an ``async`` dependency whose one parameter is the Request."""
    return (
        dependant.call is not None
        and inspect.iscoroutinefunction(dependant.call)
        and dependant.request_param_name is not None
        and not dependant.dependencies
        and _takes_only(dependant, params=False)
    )


def _is_scalar(field: Any) -> bool:
    from fastapi._compat import field_annotation_is_scalar

    return bool(field_annotation_is_scalar(field.field_info.annotation))


def lean_plan(route: APIRoute) -> LeanPlan | None:
    """The lean plan for ``route``, or ``None`` when its signature needs FastAPI's handler."""
    dependant = route.dependant
    call = dependant.call
    if (
        call is None
        or not inspect.iscoroutinefunction(call)
        or route.response_model is not None
        or route.dependencies
        or not _takes_only(dependant, params=True)
    ):
        return None
    dependencies: list[tuple[str, RequestDependency]] = []
    for sub in dependant.dependencies:
        if sub.name is None or not _only_request(sub):
            return None
        assert sub.call is not None
        dependencies.append((sub.name, sub.call))
    params: list[_Param] = []
    for source, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
        for field in fields:
            if not _is_scalar(field):
                return None
            required = bool(field.field_info.is_required())
            default = None if required else field.get_default()
            params.append(_Param(field.name, field.alias, source, field, required, default))
    return LeanPlan(call, dependant.request_param_name, tuple(dependencies), tuple(params))


def _missing(source: str, alias: str) -> dict[str, Any]:
    return {"type": "missing", "loc": (source, alias), "msg": "Field required", "input": None}


def lean_handler(plan: LeanPlan, standard: Callable[[], Handler]) -> Handler:
    """The request handler for ``plan``; ``standard()`` builds FastAPI's (for overrides)."""
    fallback: list[Handler] = []

    async def handler(request: Request) -> Response:
        if request.app.dependency_overrides:
            if not fallback:
                fallback.append(standard())
            return await fallback[0](request)
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
    """An ``APIRoute`` that uses :func:`lean_handler` when its signature allows.

    Use it as ``APIRouter(route_class=LeanRoute)`` for routers whose endpoints are hot
    paths. Routes it cannot plan behave exactly like ``APIRoute``.
    """

    def get_route_handler(self) -> Handler:
        plan = lean_plan(self)
        if plan is None:
            return super().get_route_handler()
        return lean_handler(plan, super().get_route_handler)


def is_lean(route: APIRoute) -> bool:
    """True when ``route`` is served by the lean handler (for tests and docs)."""
    return isinstance(route, LeanRoute) and lean_plan(route) is not None
