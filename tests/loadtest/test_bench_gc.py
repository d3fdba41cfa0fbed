"""The bench's garbage-collection log: the probe records a server's full collections, the summary reads a phase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from loadtest.bench import gcpauses


def test_the_probe_logs_a_serve_process_s_full_collections(tmp_path: Path) -> None:
    log = tmp_path / "gc.jsonl"
    env = {**os.environ, **gcpauses.server_env(log, os.environ.get("PYTHONPATH"))}
    # `serve` as the first argument, as `whiteboard serve` has it; anything else is not logged.
    for argv in (["serve"], ["db"]):
        code = "import gc; gc.collect(); gc.collect(1)"
        subprocess.run([sys.executable, "-c", code, *argv], env=env, check=True, timeout=60)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    full = [r for r in rows if r["gen"] == 2]
    assert len(full) >= 1 and all(r["ms"] >= 0 and r["visited"] > 0 for r in full)
    s = gcpauses.summary(log, rows[0]["at"] - 1, rows[-1]["at"] + 1)
    assert s["count"] == len(full) and s["max_visited"] == max(r["visited"] for r in full)


def test_the_summary_counts_only_its_phase(tmp_path: Path) -> None:
    log = tmp_path / "gc.jsonl"
    rows = [
        {"at": 10.0, "gen": 2, "ms": 200.0, "visited": 300000, "frozen": 0},
        {"at": 20.0, "gen": 2, "ms": 3.0, "visited": 2000, "frozen": 400000},
        {"at": 21.0, "gen": 1, "ms": 1.5, "visited": 900, "frozen": 400000},
        {"at": 30.0, "gen": 2, "ms": 5.0, "visited": 2500, "frozen": 400000},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert gcpauses.summary(log, 15.0, 25.0) == {
        "young_max_ms": 1.5, "count": 1, "max_ms": 3.0, "total_ms": 3.0, "max_visited": 2000,
    }  # fmt: skip
    assert gcpauses.summary(tmp_path / "none.jsonl", 0, 1)["count"] == 0
