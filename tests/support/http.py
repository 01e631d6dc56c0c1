"""In-process HTTP to the ASGI app (httpx + ASGITransport): the one client factory.

``starlette.testclient`` warns on import with this httpx version, so tests use
``httpx.AsyncClient`` over ``ASGITransport`` — the same HTTP path.

* ``asgi_client(app)`` — an ``httpx.AsyncClient`` on the app, for tests that send requests
  concurrently from one event loop (``asyncio.gather``).
* ``ApiClient(app)`` — the same client driven synchronously (one event loop per client):
  ``client.get("/api/…", headers=…)`` returns an ``httpx.Response``; cookies are kept.

Both come from 203.0.113.7 (TEST-NET-3) over https://test unless told otherwise. Pass
``raise_app_exceptions=False`` to observe a 500 as the response the app sends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp

REMOTE = ("203.0.113.7", 40000)


def asgi_client(
    app: ASGIApp,
    *,
    remote: tuple[str, int] = REMOTE,
    base_url: str = "https://test",
    headers: dict[str, str] | None = None,
    raise_app_exceptions: bool = True,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that sends every request into ``app`` from ``remote``."""
    transport = httpx.ASGITransport(
        app=app, client=remote, raise_app_exceptions=raise_app_exceptions
    )
    return httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers)


class ApiClient:
    """A synchronous ``asgi_client``; close it (or use ``with``) when done."""

    def __init__(
        self,
        app: FastAPI,
        *,
        remote: tuple[str, int] = REMOTE,
        base_url: str = "https://test",
        headers: dict[str, str] | None = None,
        raise_app_exceptions: bool = True,
    ) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        self._client = asgi_client(
            app,
            remote=remote,
            base_url=base_url,
            headers=headers,
            raise_app_exceptions=raise_app_exceptions,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; no answer, whatever its status, may hold a traceback."""
        response = self._runner.run(self._client.request(method, url, **kwargs))
        assert b"Traceback" not in response.content, (method, url)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
