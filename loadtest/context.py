"""The run's shared context on the Locust `Environment` (`environment.wb`): profile, credentials, recorder."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from loadtest.credentials import Credentials
from loadtest.profiles import Profile
from loadtest.record import Recorder

UNTIMED = ("POST /login", "event (replayed)", "dropped by server")  # left out of the p99 bar (see thresholds)


def timed(name: str) -> bool:
    return not any(name.startswith(u) for u in UNTIMED)


@dataclass
class RunContext:
    profile: Profile
    creds: Credentials
    recorder: Recorder
    environment: Any
    mllp: str | None = None  # HOST:PORT of the MLLP listener the feed users send to (None: feeds use the API)
    _issued: dict[str, int] = field(default_factory=dict)

    def next_index(self, kind: str) -> int:
        """0, 1, 2 … per kind: which slice of the trust a user takes (feeds split the wards between them)."""
        n = self._issued.get(kind, 0)
        self._issued[kind] = n + 1
        return n

    def _shape(self) -> Any:
        return self.environment.shape_class

    def activity(self) -> float:
        shape = self._shape()
        return shape.activity() if shape is not None else 1.0

    def storm_generation(self) -> int:
        shape = self._shape()
        return shape.storm_generation() if shape is not None else 0

    def window(self, seconds: float) -> tuple[float, float, float]:
        """(p99 ms of timed requests, failure ratio, requests/s) over the last `seconds`."""
        since = time.time() - seconds
        times: list[float] = []
        n = failed = 0
        for t, _kind, name, ms, bad in reversed(self.recorder.rows):
            if t < since:
                break
            n += 1
            failed += bad
            if timed(name):
                times.append(ms)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0
        return p99, (failed / n if n else 0.0), n / seconds
