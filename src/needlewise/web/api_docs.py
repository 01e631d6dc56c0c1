"""The API documentation page (``GET /docs``: Swagger UI), served entirely from the package.

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

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
SWAGGER_FOLDER = STATIC / "swagger-ui"
SWAGGER_URL = "/static/swagger-ui"
DOCS_PATH = "/docs"

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
