"""The token bucket on its own, on a clock the test moves: bursts, refills, separate keys, and the 429 it raises."""

from __future__ import annotations

import pytest

from whiteboard.access.limits import RateLimiter
from whiteboard.errors import ApiError


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_burst_is_allowed_then_the_next_waits_for_one_tokens_worth(clock: Clock) -> None:
    limiter = RateLimiter(60, 3, clock=clock)  # one a second, three at once
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(1.0)
    clock.now += 0.25
    assert limiter.take("k") == pytest.approx(0.75)


def test_tokens_come_back_with_time_but_never_past_the_burst(clock: Clock) -> None:
    limiter = RateLimiter(60, 2, clock=clock)
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    clock.now += 1.0
    assert limiter.take("k") == 0.0 and limiter.take("k") > 0
    clock.now += 3600  # an hour idle refills two tokens, not 3,600
    assert [limiter.take("k") == 0.0 for _ in range(3)] == [True, True, False]


def test_keys_have_separate_buckets(clock: Clock) -> None:
    limiter = RateLimiter(60, 1, clock=clock)
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_a_rate_of_zero_is_no_limit(clock: Clock) -> None:
    limiter = RateLimiter(0, 1, clock=clock)
    assert all(limiter.take("k") == 0.0 for _ in range(1000))
    assert limiter.blocked("k") == 0.0


def test_blocked_says_how_long_without_spending(clock: Clock) -> None:
    limiter = RateLimiter(6, 1, clock=clock)  # one per ten seconds
    assert limiter.blocked("k") == 0.0  # never seen
    limiter.take("k")
    assert limiter.blocked("k") == pytest.approx(10.0)
    assert limiter.blocked("k") == pytest.approx(10.0)  # asking again spent nothing
    clock.now += 10
    assert limiter.blocked("k") == 0.0 and limiter.take("k") == 0.0


def test_check_refuses_with_429_and_a_whole_retry_after(clock: Clock) -> None:
    limiter = RateLimiter(6, 1, clock=clock)
    limiter.check("k", "changes from this credential")
    clock.now += 0.2
    with pytest.raises(ApiError) as refused:
        limiter.check("k", "changes from this credential")
    err = refused.value
    assert (err.status, err.code) == (429, "rate_limited")
    assert err.headers == {"Retry-After": "10"}  # 9.8 s rounds up: a client that waits as told is let in
    assert "too many changes from this credential" in err.message


def test_the_table_of_keys_is_bounded(clock: Clock) -> None:
    limiter = RateLimiter(60, 1, clock=clock, max_keys=10)
    for i in range(25):
        limiter.take(f"forged-{i}")
    assert len(limiter) <= 10


def test_a_flood_of_new_keys_never_frees_a_key_that_is_still_limited(clock: Clock) -> None:
    """The old table cleared itself when full, so forged usernames reset a locked-out address's limit."""
    limiter = RateLimiter(1, 1, clock=clock, max_keys=10)  # one a minute
    assert limiter.take("attacker-ip") == 0.0
    assert limiter.take("attacker-ip") > 0  # limited for a minute
    clock.now += 5
    for i in range(50):  # each forged key is spent at once, so it too is still limiting
        limiter.take(f"forged-{i}")
        clock.now += 0.01
    assert len(limiter) <= 10
    # The oldest limited key may go only when every key is limiting; refilled ones go first.
    limiter2 = RateLimiter(60, 1, clock=clock, max_keys=3)
    limiter2.take("locked")
    limiter2.take("idle-1")
    limiter2.take("idle-2")
    clock.now += 2  # the idle ones refill (one a second); "locked" is spent again now
    assert limiter2.take("locked") == 0.0
    assert limiter2.take("locked") > 0
    limiter2.take("newcomer")  # the table is full: the refilled buckets make room, not the limited one
    assert limiter2.blocked("locked") > 0
