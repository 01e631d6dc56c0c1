"""The needlewise app the CDS Hooks benchmark serves, plus one parse-only route.

``uvicorn --factory cds_bench_app:create`` (run from ``bench/``) serves exactly what
:func:`needlewise.web.app.create_app` builds from the environment's settings, with one
extra route put first: ``POST /bench/parse-only``, which reads the request body, parses
it with orjson and answers a tiny JSON object. It sits behind the same middleware, in the
same process and worker as the CDS Hooks services, so its rate is the ceiling of any
endpoint of this server that has to read this body. The route exists only in this
benchmark module, never in ``src/``.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute

from needlewise.config import Settings
from needlewise.web.app import create_app

PARSE_ONLY_PATH = "/bench/parse-only"
_ANSWER = b'{"parsed":true}'


async def parse_only(request: Request) -> Response:
    """Parse the body as JSON and answer ``{"parsed": true}`` (400 when it is not JSON)."""
    try:
        orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return Response(b'{"parsed":false}', status_code=400, media_type="application/json")
    return Response(_ANSWER, media_type="application/json")


def create() -> FastAPI:
    """needlewise for ``Settings()`` from the environment, with the parse-only route first."""
    app = create_app(Settings())
    route = APIRoute(PARSE_ONLY_PATH, parse_only, methods=["POST"], include_in_schema=False)
    app.router.routes.insert(0, route)
    return app
