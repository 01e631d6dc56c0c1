"""``create_app(settings)`` -> the ASGI application.

Nothing is built at import time: the knowledge base (with the value sets) is loaded
when the app is created, from the folder the settings name.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import needlewise
from needlewise.config import Settings
from needlewise.errors import InputError, ServiceError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.faults import fault_of
from needlewise.services.documents import json_path
from needlewise.services.records import lost_race
from needlewise.startup import start
from needlewise.web.api import (
    adverse_events,
    audit,
    auth,
    check_ins,
    clinic,
    coding,
    consents,
    health,
    knowledge,
    links,
    patients,
    portal,
    portal_check_in,
    portal_forms,
    providers,
    scope,
    screening,
    screenings,
    sessions,
    triage,
    users,
)
from needlewise.web.api.auth_deps import permission_of
from needlewise.web.api.refusals import audit_refusal
from needlewise.web.api_docs import DOCS_PATH, add_docs
from needlewise.web.responses import JsonBytes, error_body, error_responses

log = logging.getLogger("needlewise.web")

_API_CSP = "default-src 'none'; frame-ancestors 'none'"
_STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds security headers and a strict CSP (the API docs page gets ``docs_csp``, which
    lets it load its own scripts and styles from this server, and nothing else)."""

    def __init__(self, app: ASGIApp, docs_csp: str = _API_CSP) -> None:
        self.app = app
        self.docs_csp = docs_csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        policy = self.docs_csp if path == DOCS_PATH else _API_CSP.encode()
        # vendored assets may be cached, but checked again (ETag) before each use
        cache = b"no-cache" if path.startswith(_STATIC_PREFIX) else b"no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", cache),
                    (b"content-security-policy", policy),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RefuseNul:
    """Refuses a request whose path or query string holds an encoded NUL (``%00``):
    PostgreSQL cannot store it, and no name, code or filter contains it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("query_string", b"") + scope.get("raw_path", b"")
            if b"%00" in raw or b"\x00" in raw or "\x00" in scope.get("path", ""):
                body = error_body(
                    "invalid-input", "the NUL character (%00) is not allowed", "query"
                )
                await JsonBytes(body, status_code=422)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class InternalErrors:
    """Turns an unexpected exception into a 500 with the documented error body, and a
    database fault (read-only, full, unreachable or busy database: see
    :mod:`needlewise.persistence.faults`) into a 503 with ``Retry-After`` and the plain
    reason, since the same request may succeed once the fault clears.

    It sits inside :class:`SecurityHeaders`, so these responses carry the same headers.
    Only the exception's type is logged: its message may hold patient data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            return  # the client went away mid-request: nobody to answer
        except Exception as exc:
            fault = fault_of(exc)
            if fault is None:
                log.error("internal error: %s", type(exc).__name__)
            else:
                log.warning("database fault: %s (%s)", fault.reason, type(exc).__name__)
            if started:
                raise
            if fault is None:
                response = JsonBytes(error_body("internal", "internal error"), status_code=500)
            else:
                response = JsonBytes(
                    error_body("database-unavailable", fault.message()),
                    status_code=503,
                    headers={"Retry-After": str(fault.retry_after)},
                )
            await response(scope, receive, send)


def route_permission(route: APIRoute) -> tuple[bool, str | None]:
    """(protected?, permission) of a route, read from its ``staff(...)`` dependency."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if dependency.call is not None and hasattr(dependency.call, "permission"):
            return True, permission_of(dependency.call)
        stack.extend(dependency.dependencies)
    return False, None


def api_routes(routes: list[BaseRoute]) -> list[APIRoute]:
    """Every APIRoute, looking through FastAPI's included-router wrappers."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


def document_permissions(router: APIRouter) -> None:
    """Every staff route documents 401/403 and the permission it needs (x-permission)."""
    for route in api_routes(router.routes):
        protected, permission = route_permission(route)
        if not protected:
            continue
        for status, spec in error_responses(401, 403).items():
            route.responses.setdefault(status, spec)
        route.openapi_extra = {
            **(route.openapi_extra or {}),
            "x-permission": permission or "any staff login",
        }


def _warm_nlp(kb: KnowledgeBase) -> None:
    """Build the free-text reader so the first check-in with text does not wait for it."""
    from needlewise.nlp import warm_up

    try:
        warm_up(kb)
    except Exception:  # a failed warm-up only means the first message builds it
        log.exception("free-text reader warm-up failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (``Settings()`` from the environment by default)."""
    settings = settings or Settings()
    runtime = start(settings)
    kb = runtime.kb

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (knowledge, value sets, routes) lives as long as the
        # process: freezing it keeps the garbage collector from walking it again, which
        # otherwise paused requests for tens of milliseconds.
        gc.collect()
        gc.freeze()
        if settings.nlp_warmup:
            threading.Thread(target=_warm_nlp, args=(kb,), name="nlp-warmup", daemon=True).start()
        yield
        runtime.db.dispose()

    app = FastAPI(
        title="needlewise API",
        version=needlewise.__version__,
        description=(
            "Dry-needling safety: contraindication screening from FHIR R4, after-treatment "
            "triage, session coding and provider scope. Every decision names its rule ids "
            "and sources and records the knowledge version and hash."
        ),
        default_response_class=JsonBytes,
        lifespan=lifespan,
        docs_url=None,  # served by add_docs from the package, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.kb = kb
    app.state.runtime = runtime

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JsonBytes:
        await audit_refusal(request, exc)  # a refusal after authentication is audited
        headers = {}
        if "retry_after" in exc.detail:
            headers["Retry-After"] = str(exc.detail["retry_after"])
        return JsonBytes({"error": exc.to_json()}, status_code=exc.status, headers=headers)

    @app.exception_handler(StaleDataError)
    async def concurrent_edit(_request: Request, _exc: StaleDataError) -> JsonBytes:
        # the rule of services/records.edit, for any versioned record whose use case
        # does not name its kind: another edit of the same version committed first
        error = lost_race("record")
        return JsonBytes({"error": error.to_json()}, status_code=error.status)

    @app.exception_handler(InputError)
    async def input_error(_request: Request, exc: InputError) -> JsonBytes:
        status = 400 if exc.problem.startswith(("not valid JSON", "the input is empty")) else 422
        code = "invalid-json" if status == 400 else "invalid-input"
        return JsonBytes(error_body(code, exc.problem, exc.where), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JsonBytes:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            return JsonBytes(error_body("invalid-json", "not valid JSON"), status_code=400)
        loc = tuple(first.get("loc", ()))
        where = (
            ".".join(str(p) for p in loc[1:])
            if loc[:1] in (("query",), ("path",))
            else json_path(loc[1:])
        )
        return JsonBytes(error_body("invalid-input", str(first.get("msg")), where), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JsonBytes:
        codes = {
            404: "not-found",
            405: "method-not-allowed",
            413: "too-large",
            415: "unsupported-media-type",
        }
        return JsonBytes(
            error_body(codes.get(exc.status_code, "http-error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),  # e.g. Allow on 405
        )

    # FastAPI tries the routers in this order and each router it passes costs time, so
    # the busiest requests come first: health probes, screening, check-ins from patients
    # and staff, triage. No two routers share a path, so the order changes nothing else.
    for module in (
        health,
        screening,
        portal_check_in,
        check_ins,
        triage,
        coding,
        scope,
        knowledge,
        auth,
        clinic,
        users,
        providers,
        patients,
        screenings,
        consents,
        sessions,
        adverse_events,
        links,
        portal,
        portal_forms,
        audit,
    ):
        document_permissions(module.router)
        app.include_router(module.router)
    docs_csp = add_docs(app)
    app.add_middleware(RefuseNul)
    app.add_middleware(InternalErrors)
    app.add_middleware(SecurityHeaders, docs_csp=docs_csp)  # also covers 500 responses
    if settings.proxy_list:
        # outermost: every layer (login limit, audit) sees the client the proxy names, and
        # only a request that comes from a named proxy may name one
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.proxy_list)
    return app
