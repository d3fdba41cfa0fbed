"""Playwright on Debian's chromium for the browser tests: sign in, axe-core, DOM counters (the
`playwright`, `browser` and `pages` fixtures are in tests/e2e/conftest.py).

Never downloads a browser: chromium comes from apt (`scripts/services --browser`) and axe-core from
npm (`tests/e2e/js`, installed by `scripts/test`). A missing piece fails the test with the command that
installs it, rather than skipping it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page

# Belt and braces: nothing here may ever fetch a browser (scripts/test exports this too).
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
JS_DIR = Path(__file__).resolve().parent / "js"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AXE_JS = JS_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# WCAG 2.0/2.1/2.2 A and AA: what an NHS service is assessed against.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def chromium_path() -> str:
    path = os.environ.get("WHITEBOARD_TEST_CHROMIUM") or shutil.which("chromium")
    if not path or not Path(path).exists():
        pytest.fail(
            "the browser tests drive Debian's chromium, which is not installed. Install it with\n"
            "    sudo apt-get update && sudo apt-get install -y chromium\n"
            "(scripts/test does this), or point WHITEBOARD_TEST_CHROMIUM at a chromium binary."
        )
    return path


def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is not installed: run\n    npm ci --prefix {JS_DIR}\n(scripts/test does this)")
    return AXE_JS.read_text()


class Pages:
    """New browser contexts for one test, closed afterwards; console errors are collected for the asserts."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def new(self, **options: Any) -> Page:
        ctx = self.browser.new_context(locale="en-GB", timezone_id="Europe/London", **options)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: self._console(page, msg.type, msg.text))
        return page

    def _console(self, page: Page, kind: str, text: str) -> None:
        if kind == "error":
            self.errors.append(f"{page.url}: {text}")

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


def sign_in(page: Page, base_url: str, token: str, path: str = "") -> None:
    """Through the login page, as a person (or a kiosk being enrolled) would."""
    page.goto(base_url + "/login" + (f"?next={path}" if path else ""))
    page.get_by_label("Access token").fill(token)
    with page.expect_navigation():
        page.get_by_role("button", name="Use token").click()


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations for the page as it is now (the context must bypass the page's CSP)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    result: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations", AXE_TAGS
    )
    return result


def serious(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — e.g. {v['nodes'][0]['target']} {v['nodes'][0]['failureSummary']}"
        for v in violations
        if v.get("impact") in {"serious", "critical"}
    ]


def dom_counters(page: Page) -> dict[str, float]:
    """DOM nodes, JS listeners and live JS heap after a full garbage collection (Chrome DevTools Protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("HeapProfiler.enable")
        cdp.send("HeapProfiler.collectGarbage")
        counters = cdp.send("Memory.getDOMCounters")
        heap = cdp.send("Runtime.getHeapUsage")
    finally:
        cdp.detach()
    return {"nodes": counters["nodes"], "listeners": counters["jsEventListeners"], "heap": heap["usedSize"]}


def shoot(page: Page | Locator, artifacts: Path, name: str, **options: Any) -> None:
    """A screenshot (of a page, or of one element such as a card) in artifacts/screenshots; also in
    docs/screenshots when WHITEBOARD_UPDATE_SCREENSHOTS=1."""
    target = artifacts / "screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), **options)
    if os.environ.get("WHITEBOARD_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_SHOTS / name)
