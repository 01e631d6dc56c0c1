"""The FHIR R4 facade under ``/fhir``: what a clinic recorded, read and searched as FHIR,
and Patients, intake QuestionnaireResponses and transaction Bundles taken in.

One router module per concern, included in the order of :data:`FHIR_ROUTERS`; every
problem under ``/fhir`` is answered as an OperationOutcome (:mod:`.outcome`). Like every
door, a route parses, calls one function in :mod:`needlewise.services`, and answers; the
FHIR shapes come from the codecs in :mod:`needlewise.interop.fhir`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from needlewise.web.errors import add_error_dialect
from needlewise.web.fhir import metadata, read, writes
from needlewise.web.fhir.outcome import outcome_dialect

PREFIX = "/fhir"

#: the facade's routers, in the order FastAPI tries them (``/fhir/metadata`` before
#: ``/fhir/{type}``; the writes are POSTs, the reads GETs)
FHIR_ROUTERS: list[APIRouter] = [metadata.router, writes.router, read.router]


def add_fhir(app: FastAPI) -> None:
    """Add the FHIR facade's routes and its OperationOutcome error dialect to ``app``."""
    for router in FHIR_ROUTERS:
        app.include_router(router)
    add_error_dialect(app, PREFIX, outcome_dialect)
