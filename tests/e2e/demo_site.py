"""What the browser tests share: the demo server they start, its ward, and small API helpers.

A plain module (not a test module), so every browser test can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import Pages, sign_in
from tests.e2e.server import ServerProcess

EMBEDDED = pytest.mark.parametrize("backend", ["embedded"], indirect=True)
BOTH_BACKENDS = pytest.mark.parametrize("backend", ["embedded", "redis+postgresql"], indirect=True)
WARD = "ward-7a"
DEMO_ARGS = ["--demo", "--demo-rate", "0", "--demo-seed", "7"]
STALE_SECS = 3
WAIT_MS = 5000
BOARD_SIZE = {"width": 1920, "height": 1080}

Make = Callable[..., ServerProcess]


def demo_server(make_server: Make, **env: str) -> ServerProcess:
    s = make_server(args=DEMO_ARGS, env={"WHITEBOARD_BOARD_STALE_SECS": str(STALE_SECS), **env})
    return s.start()


def tokens(s: ServerProcess, *specs: tuple[str, ...]) -> list[str]:
    """Several `whiteboard token create` runs at once (each is a process start)."""
    with ThreadPoolExecutor(len(specs)) as pool:
        return list(pool.map(lambda spec: s.token(*spec), specs))


def snapshot(s: ServerProcess, token: str, ward: str = WARD) -> dict[str, Any]:
    with s.client(token) as c:
        r = c.get(f"/api/wards/{ward}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def patch(s: ServerProcess, token: str, bed: str, body: dict[str, Any], ward: str = WARD) -> dict[str, Any]:
    with s.client(token) as c:
        r = c.patch(f"/api/wards/{ward}/beds/{bed}", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def open_board(pages: Pages, s: ServerProcess, display: str) -> Page:
    page = pages.new(viewport=BOARD_SIZE)
    sign_in(page, s.url, display)
    expect(page).to_have_url(f"{s.url}/board/{WARD}")
    expect(page.locator("body")).to_have_attribute("data-connection", "live", timeout=10_000)
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return page


def tile(page: Page, bed: str) -> Any:
    return page.locator(f'.tile[data-bed="{bed}"]')


def first_bed(snap: dict[str, Any], status: str) -> dict[str, Any]:
    return next(b for b in snap["beds"] if b["status"] == status)
