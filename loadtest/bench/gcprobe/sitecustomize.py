"""Put on the whiteboard server's PYTHONPATH by the fan-out bench: logs every full (generation 2) garbage
collection of a `serve` process, and every young one that took 1 ms or more, with its duration and the objects
it visited, one JSON line each, to LOADTEST_GC_LOG. Python imports `sitecustomize` at start-up; nothing else in
the server changes."""

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
        gen = info["generation"]
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        if gen < 2 and took < 0.001:
            return
        # What this collection visited: the objects left in its generation's successor plus what it freed.
        visited = len(gc.get_objects(min(gen + 1, 2))) + info["collected"]
        row = {"at": time.time(), "gen": gen, "ms": round(took * 1000, 3), "visited": visited,
               "frozen": gc.get_freeze_count()}  # fmt: skip
        out.write(json.dumps(row) + "\n")

    gc.callbacks.append(callback)


if _PATH and "serve" in sys.argv[1:2]:
    _install(_PATH)
