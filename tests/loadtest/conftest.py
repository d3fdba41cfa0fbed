"""Fixtures for the load-test tests: running `scripts/loadtest` as the README says, into a temporary place."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import run_tree

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def run_loadtest(tmp_path: Path) -> Callable[..., tuple[int, Path, dict[str, Any], str]]:
    """Run `scripts/loadtest ARGS` with its reports (and latest.json) under tmp_path; bounded in time."""

    def run(*args: str, timeout: float = 140.0) -> tuple[int, Path, dict[str, Any], str]:
        report = tmp_path / "report"
        env = {**os.environ, "LOADTEST_REPORTS": str(tmp_path)}
        if os.environ.get("WHITEBOARD_TEST_PORTS"):  # the server's HTTP and MLLP ports within the tests' range
            env["LOADTEST_PORTS"] = os.environ["WHITEBOARD_TEST_PORTS"]
        proc = run_tree(
            [str(ROOT / "scripts" / "loadtest"), *args, "--report-dir", str(report)],
            cwd=ROOT,
            env=env,
            timeout=timeout,
        )
        sys.stderr.write(proc.stderr[-4000:])
        summary = json.loads((report / "summary.json").read_text()) if (report / "summary.json").exists() else {}
        return proc.returncode, report, summary, proc.stdout

    return run
