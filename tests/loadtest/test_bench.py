"""The fan-out bench on a tiny setting: both servers deliver every frame once, and the table compares them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support import run_tree

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.timeout(120)
def test_bench_delivers_every_frame_once_on_both_servers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = run_tree(
        [
            sys.executable,
            "-m",
            "loadtest.bench",
            "--wards",
            "3",
            "--subs",
            "3,2",
            "--rate",
            "20",
            "--duration",
            "2",
            "--idle",
            "12",
            "--targets",
            "bare,embedded",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    runs = {(r["target"], r["subs_per_ward"]): r for r in result["runs"]}
    assert set(runs) == {("bare", 3), ("bare", 2), ("embedded", 3), ("embedded", 2)}
    for (_target, subs), r in runs.items():
        assert r["writes"] == 40 and r["write_errors"] == 0
        assert r["delivered"] == r["writes"] * subs and r["lost"] == 0 and r["duplicated"] == 0
        assert r["server_cpu_s"] > 0 and r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
    assert {i["target"] for i in result["idle"]} == {"bare", "embedded"}
    table = "\n".join(result["table"])
    assert "| server CPU per 1,000 delivered, writes included |" in table and "×)" in table
    assert "| lost / duplicated | 0 / 0 | 0 / 0 |" in table
