"""The per-write CPU bench on a tiny setting, and the `KIND@TREE` targets it shares with the fan-out bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from loadtest.bench.fanout import ratios, split_target
from tests.support import run_tree

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_target_names_its_kind_and_code_tree() -> None:
    assert split_target("embedded") == ("embedded", None)
    assert split_target(f"redis+postgresql@{ROOT}") == ("redis+postgresql", ROOT)
    with pytest.raises(SystemExit, match="holds no whiteboard package"):
        split_target("embedded@/nonexistent")


def test_the_table_has_a_column_per_target_with_bare_first() -> None:
    def row(target: str, cpu: float) -> dict[str, object]:
        return {"target": target, "subs_per_ward": 2, "delivered_per_s": 1.0, "cpu_ms_per_1000_delivered": cpu,
                "latency_ms": {"p50": 1.0, "p99": 2.0, "max": 3.0}, "rss_kib_per_conn": 1.0, "lost": 0,
                "duplicated": 0, "connections": 4}  # fmt: skip

    table = ratios([row("embedded@/base", 90.0), row("bare", 30.0), row("embedded", 60.0)], [], 2, None)
    assert table[0] == "| figure | bare | embedded@/base | embedded |"
    assert "| server CPU per 1,000 delivered, writes included | 30 ms | 90 ms (3.0×) | 60 ms (2.0×) |" in table


@pytest.mark.timeout(120)
def test_writecost_measures_each_thread_of_each_tree(tmp_path: Path) -> None:
    out = tmp_path / "writecost.json"
    args = ["--targets", f"embedded,embedded@{ROOT}", "--rounds", "1", "--writes", "40", "--warmup", "5"]
    proc = run_tree(
        [sys.executable, "-m", "loadtest.bench.writecost", *args, "--rate", "50", "--out", str(out)],
        cwd=ROOT,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert [r["target"] for r in result["runs"]] == ["embedded", f"embedded@{ROOT}"]
    for r in result["runs"]:
        assert r["loop"] > 0 and r["total"] == pytest.approx(r["loop"] + r["other"], abs=1e-3)
        assert 0 < r["p50_ms"] <= r["p99_ms"]
    assert result["table"][0] == f"| CPU ms per write (median) | embedded | embedded@{ROOT} |"
