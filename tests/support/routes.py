"""The routes of an app, for tests that walk every one of them."""

from __future__ import annotations

from fastapi.routing import APIRoute


def methods(route: APIRoute) -> list[str]:
    """The HTTP methods ``route`` answers, sorted. FastAPI fills them in for every
    ``APIRoute``; its type still allows ``None``."""
    assert route.methods is not None, route.path
    return sorted(route.methods)


#: the CDS Hooks door (``web/cds_hooks``): left out of the OpenAPI document (its contract
#: is the CDS Hooks specification's) and not a page; every call needs a CDS client's JWT.
#: ``tests/web/test_cds_hooks_door.py`` checks the app has exactly these, and
#: ``tests/security/test_cds_jwt.py`` what each refuses.
CDS_ROUTES = {
    ("GET", "/cds-services"),
    ("POST", "/cds-services/{service_id}"),
    ("POST", "/cds-services/{service_id}/feedback"),
}
