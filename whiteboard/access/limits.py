"""Per-credential rate limits (token buckets), so one misbehaving client cannot flood a ward.

Per instance and in memory: with N instances a credential gets at most N times the rate, which is
still bounded; a Redis-backed limiter can replace this behind the same `take` call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from whiteboard.errors import ApiError

MAX_KEYS = 50_000  # bounded: forged keys cannot grow the table without limit


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed; otherwise the seconds until one more is allowed."""
        if self.rate <= 0:
            return 0.0
        t = time.monotonic() if now is None else now
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= MAX_KEYS:
                self._buckets.clear()
            b = self._buckets[key] = _Bucket(self.burst, t)
        b.tokens = min(self.burst, b.tokens + (t - b.at) * self.rate)
        b.at = t
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.rate

    def blocked(self, key: str, now: float | None = None) -> float:
        """Like `take` but spends nothing: how long until `key` may try again (0 when it may now)."""
        if self.rate <= 0:
            return 0.0
        b = self._buckets.get(key)
        if b is None:
            return 0.0
        t = time.monotonic() if now is None else now
        tokens = min(self.burst, b.tokens + (t - b.at) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def check(self, key: str, what: str) -> None:
        wait = self.take(key)
        if wait > 0:
            retry = max(1, round(wait + 0.5))
            raise ApiError(
                429,
                "rate_limited",
                f"too many {what}; try again in {retry} s",
                None,
                headers={"Retry-After": str(retry)},
            )
