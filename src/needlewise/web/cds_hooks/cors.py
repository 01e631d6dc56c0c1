"""CORS for the CDS Hooks services only (``/cds-services``), from an allow-list.

Browser-based CDS clients (an EHR's web front end) call the services from a page of
their own origin. Only the origins in ``NEEDLEWISE_CDS_CORS_ORIGINS`` get CORS headers:

* a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin
  is answered here, 204, allowing ``GET``/``POST`` and the ``Authorization`` and
  ``Content-Type`` headers, cached for 10 minutes;
* any other answer to an allowed origin (errors included) carries
  ``Access-Control-Allow-Origin: <that origin>`` and ``Vary: Origin``;
* any other origin (``null`` included) gets no CORS header at all, so the browser keeps
  the answer from the page; its preflight falls through to the routes (405).

No ``Access-Control-Allow-Credentials``: the services take a bearer JWT, never cookies.
The rest of the app (the API, the pages) sends no CORS headers whatever the setting.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/cds-services"
_PREFLIGHT_HEADERS = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-max-age", b"600"),
    (b"vary", b"Origin"),
]


def parse_origins(value: str) -> frozenset[str]:
    """The comma-separated origins of ``value``, lower case, without a trailing ``/``."""
    return frozenset(
        entry.strip().rstrip("/").lower() for entry in value.split(",") if entry.strip()
    )


class CdsCors:
    """ASGI middleware answering CORS for ``/cds-services`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    def _allowed(self, scope: Scope) -> bytes | None:
        for name, value in scope.get("headers", ()):
            if name == b"origin":
                origin = value.decode("latin-1").strip().rstrip("/").lower()
                return value if origin in self.origins and origin != "null" else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.origins
            or not (scope["path"] == PREFIX or scope["path"].startswith(PREFIX + "/"))
        ):
            await self.app(scope, receive, send)
            return
        origin = self._allowed(scope)
        if origin is None:
            await self.app(scope, receive, send)
            return
        preflight = scope["method"] == "OPTIONS" and any(
            name == b"access-control-request-method" for name, _ in scope.get("headers", ())
        )
        if preflight:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [(b"access-control-allow-origin", origin), *_PREFLIGHT_HEADERS],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, with_cors)
