"""The HTTP around a stored record's use cases, written once for every record router.

The record routers (patients, users, providers, the clinic, consents, sessions, adverse
events) differ in what they call, not in how they answer. Each route still declares its
own path, permission, parameters and service function, and passes that function with
everything but the request's data already bound (``functools.partial``); these helpers
do the rest, in the same order everywhere:

* :func:`create_once` — the body is read and validated, then the service creates the
  record once per ``Idempotency-Key`` (a retry gets the kept answer); 201 with its ETag;
* :func:`create` — the same without an ``Idempotency-Key`` (records that are not
  created in bulk by integrations);
* :func:`change` — the body is read and validated, then ``If-Match`` (428 without it),
  then the service changes the record of that version (412 when it is stale); 200 with
  the new ETag.

Reading one record is a line of its own: ``versioned(KIND, service.get_x(...))``.

``present`` turns what the service returns into what the API answers, for records whose
answer carries door-side fields (a consent's ``copy_path``); by default the record itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.requests import Request

from needlewise.services.actor import Actor
from needlewise.services.documents import validate
from needlewise.services.idempotency import Answer, Once
from needlewise.web.api import idempotency as idempotent
from needlewise.web.bodies import body_of, json_body
from needlewise.web.etags import VersionedOut, if_match, tagged, versioned
from needlewise.web.responses import JsonBytes

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=VersionedOut)


def _as_is(out: VersionedOut) -> VersionedOut:
    return out


async def create_once(
    request: Request,
    actor: Actor,
    kind: str,
    model: type[M],
    service: Callable[[M, Once[R] | None], R],
    present: Callable[[R], VersionedOut] = _as_is,
) -> JsonBytes:
    """``service(data, once)`` in the thread pool, once per ``Idempotency-Key``: 201 with
    the record and its ETag."""
    document = await json_body(request)
    data = validate(model, document)

    async def run(once: Once[R] | None) -> R:
        return await run_in_threadpool(service, data, once)

    def answer(out: R) -> Answer:
        return tagged(kind, present(out), status=201)

    return await idempotent.run(request, actor, document, answer, run)


async def create(
    request: Request, kind: str, model: type[M], service: Callable[[M], R]
) -> JsonBytes:
    """``service(data)`` in the thread pool: 201 with the record and its ETag."""
    data = await body_of(request, model)
    return versioned(kind, await run_in_threadpool(service, data), status=201)


async def change(
    request: Request,
    kind: str,
    record_id: int,
    model: type[M],
    service: Callable[[int, M], R],
    present: Callable[[R], VersionedOut] = _as_is,
) -> JsonBytes:
    """``service(version, data)`` in the thread pool, ``version`` from ``If-Match``: 200
    with the changed record and its new ETag."""
    data = await body_of(request, model)
    version = if_match(request, kind, record_id)
    return versioned(kind, present(await run_in_threadpool(service, version, data)))
