"""Fixtures of the browser tests: Playwright on Debian's chromium (helpers in tests/e2e/browser.py).

The server fixtures (`servers`, `backend`, `make_server`) are in tests/conftest.py, since tests outside
tests/e2e start real servers too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.browser import CHROMIUM_ARGS, Pages, chromium_path


# Function scope on purpose: the sync API runs an event loop on this thread while it is open, and other
# fixtures (creating PostgreSQL databases) call asyncio.run() during setup. A launch costs well under a second.
@pytest.fixture
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    p = Pages(browser)
    yield p
    p.close()
