"""Scenario 1: the server dies (kill -9) between commit and event-log append, and at random under load.

Proves: a write acknowledged before the crash is in the database once and reaches the log once (the
outbox sweep at start-up relays what the dead process committed but never appended); a write the crash
left unanswered is in the database at most once; every client resumes without a gap or a repeat.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PostgresDatabases
from tests.faults.harness import Rig
from tests.faults.profiles import Profile
from tests.faults.services import RedisServer
from whiteboard.live.ingest import CRASH_EXIT_CODE


def test_kill_between_commit_and_append(
    rig_factory: Callable[..., Rig], redis_server: Callable[..., RedisServer], pg_databases: PostgresDatabases
) -> None:
    redis = redis_server()
    rig = rig_factory(pg_databases.new(), redis.url)
    s = rig.server()
    rig.prepare()
    s.start()
    rig.watch(per_ward=2)
    rig.load(pause=0.02)
    time.sleep(0.5)
    rig.stop_load()
    s.stop()
    s.start({"WHITEBOARD_TEST_CRASH_AFTER_COMMIT": "1"})
    rig.load(pause=0.02)  # the first batch that commits kills the process before its append
    assert s.wait_exit(timeout=20) == CRASH_EXIT_CODE
    rig.stop_load()
    s.start()
    rig.load(pause=0.02)
    time.sleep(1.0)
    report = rig.verify()
    assert rig.checker.count("error") >= 1  # the crash really cut a write off
    assert report["resumed"] >= 1


@pytest.mark.parametrize("backend", ["redis+postgresql", "embedded"])
def test_kill_at_random_under_load(
    backend: str,
    rig_factory: Callable[..., Rig],
    redis_server: Callable[..., RedisServer],
    pg_databases: PostgresDatabases,
    profile: Profile,
    tmp_path: Path,
) -> None:
    if backend == "embedded":
        rig = rig_factory(f"sqlite:///{tmp_path}/wb.db")
    else:
        rig = rig_factory(pg_databases.new(), redis_server().url)
    s = rig.server()
    rig.prepare()
    s.start()
    rig.watch(per_ward=2)
    rig.load(per_ward=2, pause=0.01)
    for _ in range(profile.rounds):
        time.sleep(random.uniform(0.3, profile.load_secs))
        s.kill()  # SIGKILL, mid-load
        s.start()
        rig.drop_watchers(0.25, away_secs=0.3)
    time.sleep(profile.load_secs)
    # The in-process log dies with the process: a new epoch each start, so resumes are snapshots.
    rig.verify(log_kept=backend != "embedded")
