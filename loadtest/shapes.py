"""The profiles as Locust `LoadTestShape`s: how many clients, how fast they come, and when the run ends.

Every shape ends by itself at the profile's run time (or `LOADTEST_RUN_TIME_S`, which the runner sets from
`--run-time`), so every run is bounded. The shape also publishes the day's activity level and the storm
counter that the clients read, and the stress shape judges the second half of each step and stops where a
bar breaks.
"""

from __future__ import annotations

import os
from typing import Any

from locust import LoadTestShape

from loadtest.profiles import Profile, day_activity


class ProfileShape(LoadTestShape):
    abstract = True
    profile: Profile

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.run_time = float(os.environ.get("LOADTEST_RUN_TIME_S") or self.profile.run_time_s)
        self.p99_ms = float(os.environ.get("LOADTEST_P99_MS") or self.profile.p99_ms)

    def elapsed(self) -> float:
        return float(self.get_run_time())  # type: ignore[no-untyped-call]

    def activity(self) -> float:
        """The day compressed into the run: fraction of the run = fraction of the day (midnight to midnight)."""
        if not self.profile.day_curve:
            return 1.0
        return day_activity(min(1.0, self.elapsed() / self.run_time))

    def storm_generation(self) -> int:
        t = self.elapsed()
        return sum(1 for f in self.profile.storms if t >= f * self.run_time)

    def tick(self) -> tuple[int, float] | None:
        if self.elapsed() >= self.run_time:
            return None
        users = self.profile.users
        return users, max(1.0, users / max(1.0, self.profile.ramp_s))


class StressShape(ProfileShape):
    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self.peak: dict[str, Any] = {}
        self.judged = -1  # the last step whose second half was judged

    def tick(self) -> tuple[int, float] | None:
        p = self.profile
        t = self.elapsed()
        ctx = self.runner.environment.wb if self.runner else None  # type: ignore[attr-defined]
        step = int(t // p.stress_step_s)
        users = min(p.users, (step + 1) * p.stress_step_users)
        # Judge each step once, at its end, on its second half: the first half holds the new clients'
        # sign-ins (argon2, slow on purpose) and page loads, which are not the steady load being measured.
        at_end = t - step * p.stress_step_s >= p.stress_step_s - 1.0
        if ctx is not None and at_end and step != self.judged and self.runner is not None:
            self.judged = step
            now_users = self.runner.user_count
            p99, fail_ratio, rps = ctx.window(p.stress_step_s / 2)
            sample = {
                "at_s": round(t, 1),
                "users": now_users,
                "rps": round(rps, 1),
                "p99_ms": round(p99, 1),
                "failure_ratio": round(fail_ratio, 4),
            }
            broke = p99 > self.p99_ms or fail_ratio > p.max_failure_ratio
            if broke:
                ctx.recorder.shape_result = {
                    "broke_at": sample,
                    "last_good": self.peak or None,
                    "bar": {"p99_ms": self.p99_ms, "max_failure_ratio": p.max_failure_ratio},
                }
                return None
            if rps >= self.peak.get("rps", 0):
                self.peak = sample
            ctx.recorder.shape_result = {
                "broke_at": None,
                "last_good": self.peak,
                "bar": {"p99_ms": self.p99_ms, "max_failure_ratio": p.max_failure_ratio},
            }
        if t >= self.run_time:
            return None
        return users, float(p.stress_step_users)


def shape_for(profile: Profile) -> type[ProfileShape]:
    base = StressShape if profile.stress_step_s else ProfileShape
    return type(
        f"{profile.name.title().replace('-', '')}Shape",
        (base,),
        {"profile": profile, "abstract": False, "__module__": __name__},
    )
