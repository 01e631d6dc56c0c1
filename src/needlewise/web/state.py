"""What :func:`needlewise.web.app.create_app` keeps on ``app.state``, read back from a request.

``create_app`` builds one :class:`~needlewise.services.runtime.Runtime` (settings,
knowledge base, database, signer) and leaves it on ``app.state.runtime``. Every door
inside the app (the API routers, the authentication dependencies, the error handlers,
later the pages) reads it through :func:`runtime_of`, never from a global.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from needlewise.services.runtime import Runtime


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The runtime of the app serving ``connection`` (a request or a websocket)."""
    runtime: Runtime = connection.app.state.runtime
    return runtime
