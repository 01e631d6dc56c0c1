"""Fixtures of the browser tests (marked ``browser``): the demo clinic served by a real
uvicorn on loopback, and Debian Chromium through Playwright (see ``support.browser``).

One server and one browser serve the whole session: the tests are slow (a few seconds
each), so ``make test`` runs each flow once, on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from needlewise.demo import load_demo
from needlewise.startup import start
from support.browser import launch
from support.server import Server
from support.service import settings_for


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory, valuesets_dir: Path) -> Iterator[Server]:
    """The demo clinic (``needlewise.demo``) on a fresh SQLite file, served by uvicorn."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.db'}"
    runtime = start(settings_for(url, valuesets_dir))
    load_demo(runtime)
    runtime.db.dispose()
    server = Server(url, valuesets_dir, NEEDLEWISE_NLP_WARMUP="false")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Debian Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
