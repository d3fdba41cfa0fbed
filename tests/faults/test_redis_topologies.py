"""Scenarios 3 and 4: Redis Sentinel failover (primary killed, and separately paused with SIGSTOP) and a
three-master Redis Cluster with wards on every shard, one master killed and failed over, under load.

Topologies from tests/redis_topologies.py (helper h11c's). Asynchronous replication may lose the newest
entries in a failover: the server then starts a new epoch (clients get `recovered: false`), never a silent
gap, so these verdicts allow a log that lost its history but nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from redis.crc import key_slot

from tests.conftest import PostgresDatabases
from tests.faults.harness import Rig
from tests.faults.profiles import Profile
from tests.redis_topologies import ClusterTopology, SentinelTopology
from whiteboard.eventlog import open_event_log

CLUSTER_WARDS = tuple(f"ward-c{i}" for i in range(9))


@pytest.mark.parametrize("how", ["kill", "pause"])
def test_sentinel_failover_under_load(
    how: str,
    rig_factory: Callable[..., Rig],
    sentinel_topology: Callable[[], SentinelTopology],
    pg_databases: PostgresDatabases,
    profile: Profile,
) -> None:
    group = sentinel_topology()
    rig = rig_factory(pg_databases.new(), group.url())
    s = rig.server()
    rig.prepare()
    s.start()
    rig.watch(per_ward=2)
    rig.load(per_ward=2, pause=0.03)
    time.sleep(profile.load_secs)
    old = group.primary
    if how == "kill":
        old.kill()
    else:
        old.pause()  # SIGSTOP: its connections stay open and silent
    rig.drop_watchers(0.5, away_secs=0.5)
    group.wait_for_new_primary(old, timeout=90)
    time.sleep(profile.load_secs)
    if how == "pause":
        old.resume()  # comes back believing it is the primary, until the sentinels demote it
        group.wait_for_role(old, "slave")
        time.sleep(profile.load_secs)
    report = rig.verify(log_kept=False)
    assert report["acked"] > 0


@pytest.mark.xfail(
    raises=TimeoutError,
    strict=False,
    reason="on a busy machine the killed master's replica was sometimes not elected at all (2 of 5 runs on "
    "2026-12-01, even in 90 s): then the scenario cannot judge the server. Only that timeout is excused; a "
    "violation of the guarantee (AssertionError) still fails.",
)
def test_cluster_with_wards_on_every_shard_and_a_master_failed_over(
    rig_factory: Callable[..., Rig],
    cluster_topology: Callable[..., ClusterTopology],
    pg_databases: PostgresDatabases,
    profile: Profile,
) -> None:
    cluster = cluster_topology(replicas=1)
    rig = rig_factory(pg_databases.new(), cluster.url())
    s = rig.server()
    keys = open_event_log(cluster.url(), key_prefix=rig.redis_prefix)

    def masters() -> set[int]:
        """The masters holding the wards' logs: a ward's bucket follows its log name, which holds a random uid."""
        logs = [keys.keys(t.log_name)[0] for t in rig.truth().values()]  # type: ignore[attr-defined]
        return {cluster.node_of_slot(key_slot(key.encode())).port for key in logs}

    # The 16 buckets sit 6/4/6 on the three masters, so nine random wards missed one in about one run in ten (a
    # fresh-clone run, 2026-12-01): add wards, before the server starts, until every master holds one.
    rig.prepare(wards=CLUSTER_WARDS, beds=3)
    while len(masters()) < 3:
        assert len(rig.wards) < 4 * len(CLUSTER_WARDS), f"{len(rig.wards)} wards, still on {len(masters())} masters"
        rig.prepare(wards=(f"ward-c{len(rig.wards)}",), beds=3)
    s.start()
    rig.watch(per_ward=1)
    rig.load(per_ward=1, pause=0.1)
    time.sleep(profile.load_secs)
    dead = cluster.masters[0]
    dead.kill()
    cluster.wait_for_failover(dead, timeout=90)  # a busy machine's replicas take a while to elect
    time.sleep(profile.load_secs)
    rig.verify(log_kept=False)
