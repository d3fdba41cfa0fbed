"""The tail bench on a tiny setting: every ward tailed, every entry delivered, connections as configured."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support import run_tree

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.timeout(120)
def test_tail_bench_delivers_every_entry_on_the_configured_connections(redis_url: str) -> None:
    proc = run_tree(
        [sys.executable, "-m", "loadtest.bench.tails", "--wards", "5", "--rate", "20", "--duration", "1",
         "--idle", "0.5", "--per-connection", "2", "--url", redis_url],
        cwd=ROOT, timeout=110,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [result] = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert result["wards_started"] == 5
    assert result["delivered"] == result["appended"] == 20
    assert result["tail_errors"] == 0
    assert result["redis_connections"] == 3  # 5 wards, 2 per tail connection
    assert "| redis_connections | 3 |" in proc.stdout
