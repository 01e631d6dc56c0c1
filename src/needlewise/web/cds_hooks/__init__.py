"""The CDS Hooks door: ``/cds-services`` (discovery), ``/cds-services/{id}`` (a hook
call) and ``/cds-services/{id}/feedback``, at exactly the spec's paths.

:func:`add_cds_hooks` is called by ``create_app`` after the app's own middleware, so the
CORS layer (:mod:`.cors`) is outermost and even a 500 carries the CORS header an
allowed browser origin needs to read it. It reads the clients file (a bad file stops
start-up with one line naming the file and JSON path), builds the JWT verifier with
every inline key parsed once, and warns loudly when the development switch
``NEEDLEWISE_CDS_ALLOW_UNSIGNED`` is on. Nothing is built at import time.

The routes (:mod:`.routes`) check the caller (:mod:`.door`), read the body, call one
use case of :mod:`needlewise.services.cds_hooks` and answer JSON; errors are in the
API's JSON dialect (the default of :mod:`needlewise.web.errors`). See
``docs/cds-hooks.md``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from needlewise.errors import InputError
from needlewise.security.cds_jwt import CdsJwtVerifier
from needlewise.security.jwks import JwksCache
from needlewise.services.cds_clients import load_clients, normalise_base_url
from needlewise.services.runtime import Runtime
from needlewise.web.cds_hooks.cors import CdsCors, parse_origins
from needlewise.web.cds_hooks.door import CdsDoor, registered
from needlewise.web.cds_hooks.routes import router

log = logging.getLogger("needlewise.cds")


def _base_url(value: str | None) -> str | None:
    """``NEEDLEWISE_CDS_BASE_URL`` normalised (lower-case scheme and host, no default
    port, no trailing ``/``); a value that is not a plain http(s) URL stops start-up."""
    if not value:
        return None
    try:
        return normalise_base_url(value)
    except ValueError as exc:
        raise InputError(str(exc), "NEEDLEWISE_CDS_BASE_URL") from None


def _include_first(app: FastAPI) -> None:
    """Include the CDS Hooks routes ahead of every other route. The router tries routes
    in order (a regular-expression match each): behind the API's and pages' ~150 routes a
    hook call would pay ~0.3 ms before reaching its own. No other route's path starts
    with ``/cds-services``, so none is shadowed
    (``tests/web/test_api.py::test_every_route_is_reached_by_its_own_path``)."""
    before = len(app.router.routes)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[:0] = added


def add_cds_hooks(app: FastAPI) -> None:
    """Add the CDS Hooks routes, their door state and their CORS layer to ``app``."""
    runtime: Runtime = app.state.runtime  # set by create_app before the doors
    settings = runtime.settings
    clients = load_clients(settings.cds_clients_file)
    verifier = CdsJwtVerifier(
        {issuer: client.trusted() for issuer, client in clients.by_issuer.items()},
        cache=JwksCache(timeout=settings.cds_fetch_timeout_seconds),
    )
    base = _base_url(settings.cds_base_url)
    app.state.cds_door = CdsDoor(clients, verifier, settings.cds_allow_unsigned, base)
    _include_first(app)
    origins = parse_origins(settings.cds_cors_origins)
    if origins:
        app.add_middleware(CdsCors, origins=origins)
    for client in clients.by_issuer.values():
        log.info("CDS Hooks: client %s registered", registered(client))
    if settings.cds_allow_unsigned:
        log.warning(
            "CDS Hooks: NEEDLEWISE_CDS_ALLOW_UNSIGNED is ON: calls without a JWT are "
            "accepted as 'unsigned'. Development only: never where real patient data flows."
        )
