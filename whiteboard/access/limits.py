"""Per-credential rate limits (token buckets), so one misbehaving client cannot flood a ward.

Per instance and in memory: with N instances a credential gets at most N times the rate, which is
still bounded; a Redis-backed limiter can replace this behind the same `take` call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from whiteboard.errors import ApiError

MAX_KEYS = 50_000  # bounded: forged keys cannot grow the table without limit


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`clock` gives monotonic seconds (tests pass their own and move it instead of sleeping)."""

    def __init__(
        self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """0 when allowed; otherwise the seconds until one more is allowed."""
        if self.rate <= 0:
            return 0.0
        t = self._clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self._max_keys:
                self._make_room(t)
            b = self._buckets[key] = _Bucket(self.burst, t)
        b.tokens = min(self.burst, b.tokens + (t - b.at) * self.rate)
        b.at = t
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.rate

    def _make_room(self, t: float) -> None:
        """Forget the buckets that have refilled (they mean the same as none), never the ones still limiting:
        a flood of new keys must not reset everybody's limits (the sign-in limiter included). Only when every
        key is still being limited does the oldest one go."""
        full = [k for k, b in self._buckets.items() if b.tokens + (t - b.at) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:
            del self._buckets[next(iter(self._buckets))]

    def blocked(self, key: str) -> float:
        """Like `take` but spends nothing: how long until `key` may try again (0 when it may now)."""
        if self.rate <= 0:
            return 0.0
        b = self._buckets.get(key)
        if b is None:
            return 0.0
        t = self._clock()
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
