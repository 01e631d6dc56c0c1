"""The OpenAPI document and the ``/docs`` page that shows it.

**Statuses.** :func:`error_responses` documents error statuses with the
:class:`~needlewise.web.responses.ErrorResponse` body; :data:`READ`, :data:`READ_ONE`,
:data:`CREATE` and :data:`UPDATE` are the usual sets of a record route. 401 and 403 are
documented in one place only: :func:`document_permissions` adds them to every route
protected by ``staff(...)`` (:mod:`needlewise.web.auth`), with the permission it needs
as ``x-permission``, so a route lists only the statuses of what it does.

**Bodies.** Routes read their JSON bodies themselves (:mod:`needlewise.web.api.bodies`),
so :func:`request_body` / :func:`body_doc` document them in ``openapi_extra``.

**The docs page** (``GET /docs``: Swagger UI) is served entirely from the package.
Swagger UI's script and style sheet are vendored under ``web/static/swagger-ui/`` (see
``web/static/VENDORED.md`` for the version and their sha256) and served at
``/static/swagger-ui/``, so the page loads nothing from a CDN and works on a clinic
network without internet access. Its content security policy allows scripts and styles
from this server only; the one inline script FastAPI's page uses (the call that starts
Swagger UI) is allowed by its sha256 hash, so no ``'unsafe-inline'`` is needed. ReDoc
(``/redoc``) is not served: it would need its own vendored bundle.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from needlewise.web.auth import permission_of
from needlewise.web.bodies import JSON_TYPES
from needlewise.web.responses import ErrorResponse

STATIC = Path(__file__).parent / "static"
SWAGGER_FOLDER = STATIC / "swagger-ui"
SWAGGER_URL = "/static/swagger-ui"
DOCS_PATH = "/docs"

_DESCRIPTIONS = {
    400: "The body is empty or not valid JSON.",
    401: "Not logged in, or the session or token has ended.",
    403: "Your role may not do this, or the X-CSRF-Token header is missing or wrong.",
    404: "Not found.",
    409: "Conflicts with the current state (e.g. a duplicate).",
    410: "The patient link has expired, was revoked, or was already used.",
    412: "If-Match names an older version: someone changed the record first; reload it.",
    428: "Send If-Match with the ETag you read, so no edit is lost.",
    429: "Too many failed logins; wait Retry-After seconds.",
    413: "The body is larger than NEEDLEWISE_MAX_BODY_BYTES.",
    415: "The body is not application/json or application/fhir+json.",
    422: "Valid JSON that cannot be used (wrong resource type, unknown id, bad value); the location says where.",
    500: "Internal error (a bug); no details are exposed.",
}  # fmt: skip
#: what only a protected route can answer: added by :func:`document_permissions`
_AUTH_STATUSES = (401, 403)


# ------------------------------------------------------------------ statuses


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


def ok(model: Any, description: str = "OK") -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description}}


def created(model: Any) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model, "description": "Created"}}


READ = error_responses(422, 500)
READ_ONE = error_responses(404, 422, 500)
CREATE = error_responses(400, 404, 409, 413, 415, 422, 500)
UPDATE = error_responses(400, 404, 409, 412, 413, 415, 422, 428, 500)


# ------------------------------------------------------------------ bodies


def request_body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting a raw JSON request body."""
    content = {media: {"schema": schema} for media in JSON_TYPES}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` inlined (for ``openapi_extra``)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def body_doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body of ``model``."""
    return request_body(description, inline_schema(model.model_json_schema()))


# ------------------------------------------------------------------ routes


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


def _status_order(status: int | str) -> tuple[int, str]:
    return (int(status), "") if str(status).isdigit() else (1000, str(status))


def document_permissions(router: APIRouter) -> None:
    """Every staff route documents 401/403 and the permission it needs (``x-permission``).

    This is the only place 401 and 403 are documented for a protected route; the
    statuses are kept in numeric order, as a route lists its own.
    """
    for route in api_routes(router.routes):
        protected, permission = route_permission(route)
        if not protected:
            continue
        responses = {**route.responses}
        for status, spec in error_responses(*_AUTH_STATUSES).items():
            responses.setdefault(status, spec)
        route.responses = dict(sorted(responses.items(), key=lambda item: _status_order(item[0])))
        route.openapi_extra = {
            **(route.openapi_extra or {}),
            "x-permission": permission or "any staff login",
        }


# ------------------------------------------------------------------ the /docs page

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """CSP hash sources (``'sha256-…'``) of every inline script in ``html``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: str) -> str:
    """The content security policy of the docs page ``html``: this server only."""
    scripts = " ".join(["'self'", *script_hashes(html)])
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def add_docs(app: FastAPI) -> str:
    """Serve ``/docs`` and its assets on ``app`` (built with ``docs_url=None``); returns
    the page's content security policy for the security-headers middleware."""
    assert app.openapi_url is not None
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - API docs",
        swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
        swagger_favicon_url="data:,",  # no icon, rather than one from a CDN
        oauth2_redirect_url=None,  # no OAuth flows: log in through /api/auth/login
    )
    html = bytes(page.body).decode()
    app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_FOLDER), name="swagger-ui")

    async def docs(_request: Request) -> Response:
        return HTMLResponse(html)

    # a plain Starlette route, as FastAPI's own docs route is: not an API operation
    app.router.add_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    return docs_policy(html)
