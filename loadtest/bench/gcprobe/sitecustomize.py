"""Put on the whiteboard server's PYTHONPATH by the fan-out bench: logs every full (generation 2) garbage
collection of a `serve` process, its duration and the objects it visited, one JSON line each, to
LOADTEST_GC_LOG. Python imports `sitecustomize` at start-up; nothing else in the server changes."""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any

_PATH = os.environ.get("LOADTEST_GC_LOG")


def _install(path: str) -> None:
    out = open(path, "a", buffering=1)  # for the process's life
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        # What this collection visited: the objects left in generation 2 plus what it freed.
        visited = len(gc.get_objects(2)) + info["collected"]
        row = {"at": time.time(), "ms": round(took * 1000, 3), "visited": visited, "frozen": gc.get_freeze_count()}
        out.write(json.dumps(row) + "\n")

    gc.callbacks.append(callback)


if _PATH and "serve" in sys.argv[1:2]:
    _install(_PATH)
