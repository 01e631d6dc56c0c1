"""What happens when the app starts serving and when it stops."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.runtime import Runtime

log = logging.getLogger("needlewise.web")

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _warm_nlp(kb: KnowledgeBase) -> None:
    """Build the free-text reader so the first check-in with text does not wait for it."""
    from needlewise.nlp import warm_up

    try:
        warm_up(kb)
    except Exception:  # a failed warm-up only means the first message builds it
        log.exception("free-text reader warm-up failed")


def lifespan_of(runtime: Runtime) -> Lifespan:
    """Start: freeze what start-up built and (``NEEDLEWISE_NLP_WARMUP``) build the
    free-text reader in the background. Stop: close the database's connections."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (knowledge, value sets, routes) lives as long as the
        # process: freezing it keeps the garbage collector from walking it again, which
        # otherwise paused requests for tens of milliseconds.
        gc.collect()
        gc.freeze()
        if runtime.settings.nlp_warmup:
            threading.Thread(
                target=_warm_nlp, args=(runtime.kb,), name="nlp-warmup", daemon=True
            ).start()
        yield
        runtime.db.dispose()

    return lifespan
