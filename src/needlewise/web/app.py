"""``create_app(settings)`` -> the ASGI application.

This module only composes. Nothing is built at import time: :func:`create_app` starts
the runtime (:func:`needlewise.startup.start`: schema, knowledge base with its value
sets, database), then puts together what the other modules of ``web/`` define:

* the error handlers and their dialects (:mod:`needlewise.web.errors`);
* the API routers, in the order of :data:`needlewise.web.api.ROUTERS`, each protected
  route documenting its permission (:mod:`needlewise.web.openapi`);
* the ``/docs`` page (:mod:`needlewise.web.openapi`);
* the HTML pages, their static files and error dialect (:mod:`needlewise.web.pages`);
* the middleware (:mod:`needlewise.web.middleware`);
* start-up and shut-down (:mod:`needlewise.web.lifespan`).

A new door (pages, CDS Hooks) adds its routers and, if it answers errors in another
dialect, registers it here (:func:`needlewise.web.errors.add_error_dialect`).
"""

from __future__ import annotations

from fastapi import FastAPI

import needlewise
from needlewise.config import Settings
from needlewise.jobs.port import queue_jobs
from needlewise.startup import start
from needlewise.web.api import ROUTERS
from needlewise.web.cds_hooks import add_cds_hooks
from needlewise.web.errors import add_error_handlers
from needlewise.web.fhir import add_fhir
from needlewise.web.lifespan import lifespan_of
from needlewise.web.middleware import add_middleware
from needlewise.web.openapi import add_docs, document_permissions
from needlewise.web.pages import add_pages
from needlewise.web.responses import JsonBytes


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (``Settings()`` from the environment by default)."""
    settings = settings or Settings()
    runtime = start(settings, jobs=queue_jobs(settings))  # jobs/: wakes the worker
    app = FastAPI(
        title="needlewise API",
        version=needlewise.__version__,
        description=(
            "Dry-needling safety: contraindication screening from FHIR R4, after-treatment "
            "triage, session coding and provider scope. Every decision names its rule ids "
            "and sources and records the knowledge version and hash."
        ),
        default_response_class=JsonBytes,
        lifespan=lifespan_of(runtime),
        docs_url=None,  # served by add_docs from the package, not from a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime  # read back by needlewise.web.state.runtime_of
    add_error_handlers(app)
    for router in ROUTERS:
        document_permissions(router)
        app.include_router(router)
    docs_csp = add_docs(app)
    add_pages(app)
    add_fhir(app)
    add_middleware(app, docs_csp=docs_csp, trusted_proxies=settings.proxy_list)
    add_cds_hooks(app)  # after the middleware: its CORS layer is outermost
    return app
