"""The load profiles, as plain data shared by the seeder, the Locust shapes and the runner.

Every client paces itself from the real-life rates below divided by the profile's `time_scale`: a
profile at `time_scale=100` puts a trust's day through the server 100 times faster than it happens,
which is how "100× the monthly rate of a large trust" is reached with the trust's own number of
boards and phones.
"""

from __future__ import annotations

from dataclasses import dataclass

SECONDS_PER_MONTH = 30.436875 * 86400  # the mean Gregorian month
TRUST_MONTHLY_REQUESTS = 7_000_000  # one large trust's 200 boards and their staff (issue 9)

# Real-life pace of one client, in seconds between actions (exponentially distributed around these).
NURSE_WRITE_EVERY_S = 300.0  # a nurse changes a bed every few minutes of a shift
NURSE_READ_EVERY_S = 60.0  # the phone revalidates the ward (If-None-Match: cheap 304s mostly)
FEED_ACTION_EVERY_S = 144.0  # admit/transfer/discharge: ~600 a day for 2,000 beds, per feed of two
OPS_POLL_EVERY_S = 30.0  # the ops page's figures; Prometheus scrapes /metrics as often
BOARD_RELOAD_EVERY_S = 86400.0  # wall boards reload their page once a day
BOARD_DROP_EVERY_S = 6 * 3600.0  # and lose their Wi-Fi now and then


@dataclass(frozen=True)
class Profile:
    """One named load: the trust to seed, the clients to run, how fast, for how long, and the bar."""

    name: str
    wards: int
    beds_per_ward: int
    boards: int
    nurses: int
    feeds: int
    ops: int
    time_scale: float
    run_time_s: float
    p99_ms: float  # every request type's p99 (sign-in excepted) and the live event latency's p99
    ramp_s: float
    day_curve: bool = False  # activity follows a ward's day (quiet night, busy late morning)
    storms: tuple[float, ...] = ()  # fractions of the run at which every board drops and resumes at once
    stress_step_s: float = 0.0  # stress: add `stress_step_users` every this many seconds until a bar breaks
    stress_step_users: int = 0
    max_rss_growth_mib: float | None = None  # soak: the server's RSS may not grow more than this (2nd half)
    max_failure_ratio: float = 0.0

    @property
    def beds(self) -> int:
        return self.wards * self.beds_per_ward

    @property
    def users(self) -> int:
        return self.boards + self.nurses + self.feeds + self.ops


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        # Small, in the test command: two boards on some wards, two nurses on some wards (conflicts), one storm.
        Profile(
            "ci",
            wards=4,
            beds_per_ward=12,
            boards=8,
            nurses=6,
            feeds=1,
            ops=1,
            time_scale=300,
            run_time_s=40,
            p99_ms=1000,
            ramp_s=5,
            storms=(0.6,),
        ),
        # A large trust: 2,000 beds on 80 wards, 200 boards, a nurse per ward, two feeds; a day at 100× is 864 s.
        Profile(
            "trust-day",
            wards=80,
            beds_per_ward=25,
            boards=200,
            nurses=80,
            feeds=2,
            ops=2,
            time_scale=100,
            run_time_s=864,
            p99_ms=100,
            ramp_s=30,
            day_curve=True,
        ),
        # Ramp boards and phones (same mix as trust-day) until a bar breaks; report where.
        Profile(
            "stress",
            wards=80,
            beds_per_ward=25,
            boards=600,
            nurses=240,
            feeds=2,
            ops=1,
            time_scale=100,
            run_time_s=600,
            p99_ms=250,
            ramp_s=0,
            stress_step_s=20,
            stress_step_users=60,
            max_failure_ratio=0.01,
        ),
        # Every board drops at once, twice, and resumes with since/epoch while writes go on.
        Profile(
            "reconnect-storm",
            wards=80,
            beds_per_ward=25,
            boards=200,
            nurses=40,
            feeds=1,
            ops=1,
            time_scale=100,
            run_time_s=180,
            p99_ms=2000,
            ramp_s=20,
            storms=(0.35, 0.7),
        ),
        # Bounded soak at a realistic-but-busy pace, watching the server's memory.
        Profile(
            "soak",
            wards=80,
            beds_per_ward=25,
            boards=200,
            nurses=80,
            feeds=2,
            ops=1,
            time_scale=20,
            run_time_s=1800,
            p99_ms=250,
            ramp_s=30,
            day_curve=True,
            max_rss_growth_mib=64,
        ),
    )
}


def day_activity(fraction: float) -> float:
    """Relative activity of a ward at this fraction of a day (midnight = 0): mean 1.0 over the day.

    Night is quiet (0.3), the morning ward round and the afternoon discharges are busy (up to 1.7).
    """
    hour = (fraction % 1.0) * 24
    if hour < 6:
        level = 0.3
    elif hour < 8:
        level = 0.3 + (hour - 6) * 0.5
    elif hour < 12:
        level = 1.7
    elif hour < 17:
        level = 1.5
    elif hour < 22:
        level = 1.0
    else:
        level = 0.5
    return level / 0.9875  # normalised so the day's mean is 1.0
