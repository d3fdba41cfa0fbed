"""The `ci` load profile end to end, as the README runs it: its own server, Locust, the report, the bar."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

RunLoadtest = Callable[..., tuple[int, Path, dict[str, Any], str]]

WANTED_TYPES = (
    "WS event (live)",
    "WS connect",
    "WS resume",
    "GET GET /board/[ward]",
    "POST POST /login (board token)",
    "POST POST /login (nurse)",
    "GET GET /api/wards/[ward] (phone)",
    "PATCH PATCH bed (phone)",
    "MLLP connect",  # the hospital feed: HL7 v2 ADT over MLLP, each message waiting for its ACK
    "MLLP ADT^A01",
    "MLLP ADT^A03",
    "GET GET /metrics",
    "GET GET /api/ops",
)


@pytest.mark.timeout(170)
def test_ci_profile_passes_and_reports(run_loadtest: RunLoadtest) -> None:
    rc, report, summary, stdout = run_loadtest("ci", "--run-time", "40s")
    assert rc == 0, stdout
    for name in (
        "report.html",
        "locust_stats.csv",
        "locust_stats_history.csv",
        "latency_over_time.png",
        "latency_distribution.png",
        "summary.json",
    ):
        assert (report / name).stat().st_size > 0, name
    for png in ("latency_over_time.png", "latency_distribution.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["profile"] == "ci" and summary["thresholds_passed"] is True
    assert summary["requests"] > 500 and summary["failures"] == 0 and summary["rps"] > 0
    assert summary["integrity"]["lost"] == 0 and summary["integrity"]["duplicated"] == 0
    assert summary["integrity"]["writes"] > 20 and summary["integrity"]["delivered"] >= summary["integrity"]["writes"]
    live = summary["ws_event_latency_ms"]
    assert live["n"] > 20 and 0 <= live["p50"] <= live["p95"] <= live["p99"]
    for kind in WANTED_TYPES:
        entry = summary["requests_by_type"][kind]
        assert entry["n"] > 0 and entry["failures"] == 0 and entry["p50"] <= entry["p95"] <= entry["p99"], kind
    assert summary["requests_by_type"]["WS resume"]["n"] >= 8  # the storm: every board resumed with since/epoch
    assert summary["feed"] == "mllp"
    mllp = {k: v for k, v in summary["requests_by_type"].items() if k.startswith("MLLP ADT^")}
    assert sum(v["n"] for v in mllp.values()) >= 20 and all(v["failures"] == 0 for v in mllp.values()), mllp
    assert "MLLP ADT^A01" in stdout and "MLLP ADT^A03" in stdout  # the printed summary names them too
    assert summary["monthly_equivalent"] == pytest.approx(summary["sustained_rps"] * 30.436875 * 86400, rel=0.01)
    assert summary["multiple_of_7m"] == pytest.approx(summary["monthly_equivalent"] / 7e6, abs=0.1)
    assert summary["server"]["cpu_seconds"] > 0 and summary["server"]["rss_mib_peak"] > 10
    assert not psutil.pid_exists(summary["server_pid"]) and not psutil.pid_exists(summary["locust_pid"])
    latest = json.loads((report.parent / "latest.json").read_text())
    assert latest["profile"] == "ci" and latest["thresholds_passed"] is True
    assert latest["multiple_of_7m"] == summary["multiple_of_7m"]
    assert "THRESHOLDS PASSED" in stdout


@pytest.mark.timeout(120)
def test_a_broken_threshold_fails_the_run_and_the_feed_can_use_the_api(run_loadtest: RunLoadtest) -> None:
    rc, _report, summary, stdout = run_loadtest("ci", "--run-time", "12s", "--fail-p99-ms", "0.001", "--feed", "api")
    assert rc == 1, stdout
    assert summary["thresholds_passed"] is False
    # --feed api: the hospital feed PATCHes over the API instead of sending HL7 over MLLP
    assert summary["feed"] == "api" and not any(k.startswith("MLLP") for k in summary["requests_by_type"])
    assert any(k.startswith("PATCH PATCH bed (feed ") for k in summary["requests_by_type"]), summary["requests_by_type"]
    assert summary["thresholds"]["p99 of requests <= 0.001 ms"] is False
    assert "THRESHOLDS FAILED" in stdout
