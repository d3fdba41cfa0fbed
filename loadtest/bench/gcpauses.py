"""Full garbage collections of a whiteboard server during a phase, from the log `gcprobe/sitecustomize.py` writes.

The issue-9 stall was one full (generation 2) collection with every connection waiting: the bench reports how
many ran while the writes were going, and how long the longest took, beside the latency they cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROBE_DIR = Path(__file__).resolve().parent / "gcprobe"


def server_env(log: Path, pythonpath: str | None) -> dict[str, str]:
    """Variables that make a server log its full collections to `log`."""
    path = str(PROBE_DIR) if not pythonpath else f"{PROBE_DIR}:{pythonpath}"
    return {"PYTHONPATH": path, "LOADTEST_GC_LOG": str(log)}


def summary(log: Path, start: float, end: float) -> dict[str, Any]:
    """Count, longest and total pause (ms), and the most objects visited, of full collections in [start, end];
    and the longest young collection (those of 1 ms or more are logged)."""
    rows: list[dict[str, Any]] = []
    if log.exists():
        rows = [r for r in map(json.loads, log.read_text().splitlines()) if start <= r["at"] <= end]
    young = [r["ms"] for r in rows if r.get("gen", 2) < 2]
    rows = [r for r in rows if r.get("gen", 2) == 2]
    return {
        "young_max_ms": max(young, default=0.0),
        "count": len(rows),
        "max_ms": max((r["ms"] for r in rows), default=0.0),
        "total_ms": round(sum(r["ms"] for r in rows), 1),
        "max_visited": max((r["visited"] for r in rows), default=0),
    }
