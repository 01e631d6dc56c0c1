"""Bounded waits: every loop that waits for something in the tests gives up after a
deadline and says what it was waiting for, so a broken build fails instead of hanging."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest


def wait_until(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Return once ``condition()`` holds; fail the test after ``within`` seconds, naming
    ``what`` was awaited."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {within:g} s for {what}")
        time.sleep(0.01)


async def wait_until_async(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """``wait_until`` inside an event loop: sleeps with ``asyncio.sleep`` so the tasks
    that make ``condition`` true keep running."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {within:g} s for {what}")
        await asyncio.sleep(0.01)
