"""Scenario 2: Redis killed (kill -9) and restarted under load, with AOF persistence and without.

With persistence the log and its epoch survive: writes committed meanwhile wait in the outbox, the
sweeper appends them once Redis is back, and every client (connected, or resuming by offset) gets every
event once in the same epoch. Without, the log is lost: the next append starts a new epoch, and every
client is told `recovered: false` with a fresh snapshot, never a silent gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.conftest import PostgresDatabases
from tests.faults.harness import Rig
from tests.faults.profiles import Profile
from tests.faults.services import RedisServer


@pytest.mark.parametrize("persistent", [True, False], ids=["aof", "no-persistence"])
def test_redis_killed_and_restarted(
    persistent: bool,
    rig_factory: Callable[..., Rig],
    redis_server: Callable[..., RedisServer],
    pg_databases: PostgresDatabases,
    profile: Profile,
) -> None:
    redis = redis_server(persistent=persistent)
    rig = rig_factory(pg_databases.new(), redis.url)
    s = rig.server()
    rig.prepare()
    s.start()
    watchers = rig.watch(per_ward=3)
    epochs_before = {w.log.ward: w.log.epoch for w in watchers}
    rig.load(per_ward=2, pause=0.02)
    down_seen = False
    for _ in range(profile.rounds):
        time.sleep(profile.load_secs)
        redis.kill()
        rig.drop_watchers(0.3, away_secs=0.5)  # some clients drop too, and resume by offset meanwhile
        time.sleep(1.0)  # writes keep committing (PostgreSQL is up); the log is not
        status, body = rig.readyz(s)
        down_seen |= status == 503 and body["checks"]["eventlog"]["status"] == "down"
        redis.start()
    time.sleep(profile.load_secs)
    report = rig.verify(log_kept=persistent)
    assert down_seen, "/readyz never said the event log was down while Redis was dead"
    epochs_after = {w.log.ward: w.log.epoch for w in watchers}
    if persistent:
        assert epochs_after == epochs_before and report["snapshots_recovered_false"] == 0
    else:
        assert all(epochs_after[w] != epochs_before[w] for w in epochs_before)
        assert report["snapshots_recovered_false"] >= len(watchers)
