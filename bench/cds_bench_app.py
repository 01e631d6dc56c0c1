"""The needlewise app the CDS Hooks benchmark serves, plus one parse-only route.

``uvicorn --factory cds_bench_app:create`` (run from ``bench/``) serves exactly what
:func:`needlewise.web.app.create_app` builds from the environment's settings, plus:

* ``POST /bench/parse-only``, put first: reads the request body, parses it with orjson
  and answers a tiny JSON object. It sits behind the same middleware, in the same
  process and worker as the CDS Hooks services, so its rate is the ceiling of any
  endpoint of this server that has to read this body: the benchmark's floor;
* ``POST /bench/parse-only-last``, the same endpoint put last, after the CDS Hooks
  routes: the router tries its routes in turn, so this one pays at least the search a
  CDS Hooks call pays (the difference between the two is the cost of route order);
* ``GET /bench/group-commit``: the group-commit writer's counters.

With ``NEEDLEWISE_BENCH_CDS_FIRST=1`` the CDS Hooks router is moved to the front of the
routes (a what-if: how much of a call's cost is the router's search).

These routes exist only in this benchmark module, never in ``src/``.

With ``NEEDLEWISE_BENCH_CPROFILE=DIR`` in the environment, every thread of the server
(the event loop, the worker threads, the group-commit writer) runs under its own
``cProfile`` profiler, timed by the thread's CPU clock (so waiting for the GIL, a lock or
the disk counts for nothing), and each is written to ``DIR/<thread name>-<n>.pstats`` when the
server shuts down: what ``cds_hooks_bench.py --cprofile DIR`` reads. cProfile slows Python
code down (about 2x), so a profiled run's rates do not count; its shares do.
"""

from __future__ import annotations

import cProfile
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute

from needlewise.config import Settings
from needlewise.web.app import create_app

PARSE_ONLY_PATH = "/bench/parse-only"
PARSE_ONLY_LAST_PATH = "/bench/parse-only-last"
GROUP_COMMIT_PATH = "/bench/group-commit"
PARSE_ONLY_ANSWER = b'{"parsed":true}'


async def parse_only(request: Request) -> Response:
    """Parse the body as JSON and answer ``{"parsed": true}`` (400 when it is not JSON)."""
    try:
        orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return Response(b'{"parsed":false}', status_code=400, media_type="application/json")
    return Response(PARSE_ONLY_ANSWER, media_type="application/json")


async def group_commit(request: Request) -> Response:
    """The group-commit writer's counters so far: ``{"batches": n, "jobs": m}`` (the
    runner reads them around a run to tell how many calls shared each commit)."""
    group = request.app.state.runtime.db.group
    return Response(orjson.dumps({"batches": group.batches, "jobs": group.jobs}))


def profile_every_thread(folder: Path) -> Callable[[], None]:
    """Profile this thread and every thread started from now on; returns the function
    that writes the profiles (uvicorn re-raises SIGTERM after its shutdown, so ``atexit``
    would not run: the app's lifespan calls it as it ends)."""
    folder.mkdir(parents=True, exist_ok=True)
    profiles: list[tuple[str, cProfile.Profile]] = []
    lock = threading.Lock()

    def start(*_: Any) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU time, not waits for the GIL
        with lock:
            profiles.append((threading.current_thread().name, profile))
        profile.enable()  # replaces this hook for the thread

    def write() -> None:
        with lock:
            for number, (name, profile) in enumerate(profiles):
                safe = "".join(c if c.isalnum() else "_" for c in name)
                profile.dump_stats(folder / f"{safe}-{number}.pstats")

    threading.setprofile(start)
    start()
    return write


def _after_shutdown(app: FastAPI, then: Callable[[], None]) -> None:
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            yield state
        then()

    app.router.lifespan_context = lifespan


def move_cds_hooks_first(app: FastAPI) -> None:
    """What-if for ``NEEDLEWISE_BENCH_CDS_FIRST``: the router holding ``/cds-services``
    moved to the front of the app's routes (the benchmark's measure of what route order
    costs a CDS Hooks call; ``src/`` is unchanged)."""
    routes = app.router.routes
    for index, route in enumerate(routes):
        inner = getattr(route, "original_router", None)
        if any(getattr(r, "path", "") == "/cds-services" for r in getattr(inner, "routes", [])):
            routes.insert(0, routes.pop(index))
            return
    raise RuntimeError("no router with /cds-services in this app")


def create() -> FastAPI:
    """needlewise for ``Settings()`` from the environment, with the bench's two routes."""
    folder = os.environ.get("NEEDLEWISE_BENCH_CPROFILE")
    write = profile_every_thread(Path(folder)) if folder else None
    app = create_app(Settings())
    if write is not None:
        _after_shutdown(app, write)
    if os.environ.get("NEEDLEWISE_BENCH_CDS_FIRST"):
        move_cds_hooks_first(app)
    # the floor first (the router tries its routes in turn), its twin last, after the
    # CDS Hooks router: finding it costs at least what finding a CDS Hooks route costs
    first = [(PARSE_ONLY_PATH, parse_only, "POST"), (GROUP_COMMIT_PATH, group_commit, "GET")]
    for path, endpoint, method in first:
        route = APIRoute(path, endpoint, methods=[method], include_in_schema=False)
        app.router.routes.insert(0, route)
    app.router.routes.append(
        APIRoute(PARSE_ONLY_LAST_PATH, parse_only, methods=["POST"], include_in_schema=False)
    )
    return app
