"""The app's middleware: security headers, refusing NUL, and answering what escaped.

:func:`add_middleware` adds them in their one right order (outermost last):

1. :class:`RefuseNul` — innermost: a NUL never reaches a route;
   :class:`CompressStatic` — gzip for ``/static/`` only (never pages or JSON: BREACH);
2. :class:`InternalErrors` — turns what escaped every route and handler into a 503
   (database fault) or a 500 (bug);
3. :class:`SecurityHeaders` — outside both, so their answers carry the headers too;
4. uvicorn's ``ProxyHeadersMiddleware`` when ``NEEDLEWISE_TRUSTED_PROXIES`` names
   proxies — outermost, so every layer (login limit, audit) sees the client the proxy
   names, and only a request that comes from a named proxy may name one.

Their error answers go through :func:`needlewise.web.errors.render_problem`, so each
door's dialect applies to them as well.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from needlewise.errors import Unavailable
from needlewise.services.failures import refusal_of
from needlewise.web.errors import problem, problem_of, render_problem
from needlewise.web.openapi import DOCS_PATH

log = logging.getLogger("needlewise.web")

API_CSP = "default-src 'none'; frame-ancestors 'none'"
#: the pages: scripts, styles, images and fonts from this server only (no inline script
#: or style), images also as data: URLs (a drawn signature), forms post to this server
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
#: paths answered by pages (and the home page "/")
PAGE_PATHS = ("/app", "/p/", "/learn")
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds security headers and a strict CSP (the API docs page gets ``docs_csp``, which
    lets it load its own scripts and styles from this server, and nothing else; the pages
    get :data:`PAGE_CSP`)."""

    def __init__(self, app: ASGIApp, docs_csp: str = API_CSP) -> None:
        self.app = app
        self.docs_csp = docs_csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == DOCS_PATH:
            policy = self.docs_csp
        elif path == "/" or path.startswith(PAGE_PATHS):
            policy = PAGE_CSP.encode()
        else:
            policy = API_CSP.encode()
        # vendored assets may be cached, but checked again (ETag) before each use
        cache = b"no-cache" if path.startswith(STATIC_PREFIX) else b"no-store"

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
                refused = problem(
                    422, "invalid-input", "the NUL character (%00) is not allowed", "query"
                )
                await render_problem(HTTPConnection(scope), refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class InternalErrors:
    """Answers an exception that escaped every route and error handler.

    An edit that lost a race (412) or a database fault (read-only, full, unreachable or
    busy database: 503 with ``Retry-After`` and the plain reason, since the same request
    may succeed once the fault clears) get their refusal
    (:func:`needlewise.services.failures.refusal_of`); anything else is a bug: 500 with
    the documented error body and nothing of the request (path, query, body) in it.

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
            refusal = refusal_of(exc)
            if refusal is None:
                log.error("internal error: %s", type(exc).__name__)
            elif isinstance(refusal, Unavailable):
                log.warning("database fault: %s (%s)", refusal.reason, type(exc).__name__)
            if started:
                raise
            answer = (
                problem(500, "internal", "internal error")
                if refusal is None
                else problem_of(refusal)
            )
            await render_problem(HTTPConnection(scope), answer)(scope, receive, send)


class CompressStatic:
    """gzip for the static files only (htmx is 52 KB, 16 KB compressed), when the browser
    accepts it. Pages and JSON are not compressed: they hold secrets (CSRF tokens,
    patient links) next to text a visitor chose, which compression would leak (BREACH)."""

    def __init__(self, app: ASGIApp) -> None:
        from starlette.middleware.gzip import GZipMiddleware

        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(STATIC_PREFIX):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def add_middleware(app: FastAPI, *, docs_csp: str, trusted_proxies: list[str]) -> None:
    """Add the app's middleware in its one right order (see the module docstring)."""
    app.add_middleware(RefuseNul)
    app.add_middleware(CompressStatic)
    app.add_middleware(InternalErrors)
    app.add_middleware(SecurityHeaders, docs_csp=docs_csp)  # also covers 500 responses
    if trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
