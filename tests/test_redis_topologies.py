"""The test support for real Redis topologies (tests/redis_topologies.py) and key clean-up on each of them."""

from __future__ import annotations

from collections.abc import Callable

import redis as redis_sync
from redis.crc import key_slot

from tests.redis_topologies import ClusterTopology, SentinelTopology
from tests.support import REDIS_PREFIX_BASE, delete_redis_keys


def test_a_tests_keys_are_deleted_on_a_server_a_sentinel_primary_and_every_cluster_master(
    redis_sentinel: SentinelTopology, redis_cluster: ClusterTopology, redis_url: str
) -> None:
    prefix = f"{REDIS_PREFIX_BASE}-cleanup"
    with redis_sentinel.primary.client() as c:
        c.set(f"{prefix}:{{a}}:x", 1)
        c.set("other:{a}:x", 1)
    delete_redis_keys(redis_sentinel.url(), prefix)
    with redis_sentinel.primary.client() as c:
        assert c.get(f"{prefix}:{{a}}:x") is None and c.get("other:{a}:x") == b"1"
        c.delete("other:{a}:x")
    cluster = redis_cluster.client()
    try:
        keys = [f"{prefix}:{{{i}}}:x" for i in range(30)]  # slots on every master
        for key in keys:
            cluster.set(key, 1)
        assert {redis_cluster.node_of_slot(key_slot(k.encode())).port for k in keys} == {
            n.port for n in redis_cluster.nodes
        }
        delete_redis_keys(redis_cluster.url(), prefix)
        assert all(cluster.get(k) is None for k in keys)
    finally:
        cluster.close()
    server = redis_sync.Redis.from_url(redis_url)
    try:
        server.set(f"{prefix}:q", 1)
        delete_redis_keys(redis_url, prefix)
        assert server.get(f"{prefix}:q") is None
    finally:
        server.close()


def test_cut_replication_makes_a_failover_lose_the_newest_writes(
    sentinel_topology: Callable[[], SentinelTopology],
) -> None:
    group = sentinel_topology()
    old = group.primary
    with old.client() as c:
        c.set("kept", 1)
        assert c.execute_command("WAIT", 2, 5000) == 2
    group.cut_replication()
    with old.client() as c:
        c.set("lost", 1)
    old.kill()
    group.restore_replication()
    new = group.wait_for_new_primary(old)
    with new.client() as c:
        assert c.get("kept") == b"1" and c.get("lost") is None
        c.set("after", 1)
    group.wait_until_replicas_follow()
