"""Every run ends: a user that loses Locust's kill still stops, and one that never stops is killed at the deadline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

RunLoadtest = Callable[..., tuple[int, Path, dict[str, Any], str]]
LOCUSTFILES = Path(__file__).parent / "locustfiles"


@pytest.mark.timeout(150)
def test_a_user_that_lost_its_kill_still_stops_and_locust_exits(run_loadtest: RunLoadtest) -> None:
    rc, _report, summary, stdout = run_loadtest(
        "ci", "--run-time", "5s", "--grace-s", "40", "--locustfile", str(LOCUSTFILES / "swallowed.py")
    )
    assert "locust_overran" not in summary, summary.get("locust_overran")
    assert summary["requests_by_type"]["TEST swallowed kill"]["n"] >= 1  # the kill was lost, and yet:
    assert not psutil.pid_exists(summary["locust_pid"])
    assert rc == 1, stdout  # the run itself finished; only its bars failed (these users watch no board)
    assert summary["thresholds"]["events were delivered"] is False


@pytest.mark.timeout(150)
def test_a_user_that_never_stops_is_named_and_locust_is_killed_at_the_deadline(run_loadtest: RunLoadtest) -> None:
    rc, report, summary, stdout = run_loadtest(
        "ci", "--run-time", "4s", "--grace-s", "9", "--locustfile", str(LOCUSTFILES / "stuck.py")
    )
    assert rc == 2, stdout
    assert not psutil.pid_exists(summary["locust_pid"])
    assert "StuckUser" in summary["locust_overran"] and "killed" in summary["locust_overran"]
    assert summary["thresholds"]["Locust stopped within run time + grace"] is False
    assert summary["thresholds_passed"] is False
    assert summary["requests_by_type"]["TEST stuck"]["n"] > 0  # the records were saved before the kill
    stuck = json.loads((report / "stuck.json").read_text())
    assert {s["user"] for s in stuck} == {"StuckUser"} and any("hold" in line for line in stuck[0]["stack"])
