"""The routes of an app, for tests that walk every one of them."""

from __future__ import annotations

from fastapi.routing import APIRoute


def methods(route: APIRoute) -> list[str]:
    """The HTTP methods ``route`` answers, sorted. FastAPI fills them in for every
    ``APIRoute``; its type still allows ``None``."""
    assert route.methods is not None, route.path
    return sorted(route.methods)
