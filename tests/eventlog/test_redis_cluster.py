"""The Redis log on a real three-master Cluster: wards spread over every shard, tails read per slot on primaries."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from tests.redis_topologies import ClusterTopology
from tests.support import REDIS_PREFIX_BASE
from whiteboard.domain.offsets import log_name
from whiteboard.eventlog import AppendStatus, Entry, EventLogUnavailable
from whiteboard.eventlog.redis import RedisEventLog
from whiteboard.eventlog.redis_connect import bucket_tags


@pytest.fixture
async def clog(redis_cluster: ClusterTopology) -> AsyncIterator[RedisEventLog]:
    prefix = f"{REDIS_PREFIX_BASE}-{uuid.uuid4().hex[:12]}"
    log = RedisEventLog(redis_cluster.url(), key_prefix=prefix)
    await log.connect()
    yield log
    await log.aclose()
    redis_cluster.delete_keys(prefix)


def test_bucket_tags_spread_over_the_whole_slot_range() -> None:
    """Bucket i's tag hashes into the i-th equal slice of the slots, so every shard of a balanced cluster gets
    wards; the tags are a pure function of the count, so every instance computes the same ones."""
    for buckets in (1, 3, 16, 100):
        tags = bucket_tags(buckets)
        assert tags == bucket_tags(buckets) and len(set(tags)) == buckets
        width = REDIS_CLUSTER_HASH_SLOTS / buckets
        assert [int(key_slot(tag.encode()) // width) for tag in tags] == list(range(buckets))


async def test_wards_on_every_shard_are_tailed_from_their_own_primary(
    clog: RedisEventLog, redis_cluster: ClusterTopology
) -> None:
    streams = [log_name(f"ward-{i}", uuid.uuid4().hex) for i in range(48)]
    got: dict[str, list[Entry]] = {s: [] for s in streams}

    async def collect(stream: str) -> None:
        async for entry in clog.tail(stream, 0):
            got[stream].append(entry)
            if entry.seq == 2:
                return

    tasks = [asyncio.create_task(collect(s)) for s in streams]
    try:
        for _ in range(200):
            if clog.tailed_streams == len(streams):
                break
            await asyncio.sleep(0.05)
        for s in streams:
            for seq in (1, 2):
                assert (await clog.append(s, seq, b'{"n":%d}' % seq)).status is AppendStatus.APPENDED
        await asyncio.wait_for(asyncio.gather(*tasks), 20)
    finally:
        for task in tasks:
            task.cancel()
    assert all([e.seq for e in got[s]] == [1, 2] for s in streams)
    # Both keys of a ward on one slot; the wards over all three masters.
    slots = {s: {key_slot(k.encode()) for k in clog.keys(s)} for s in streams}
    assert all(len(v) == 1 for v in slots.values())
    nodes = {redis_cluster.node_of_slot(next(iter(v))).port for v in slots.values()}
    assert nodes == {n.port for n in redis_cluster.nodes}
    # Each master holds tail connections of ours (one per bucket it serves), nothing beyond the buckets.
    tails = {}
    for node in redis_cluster.nodes:
        with node.client() as c:
            tails[node.port] = sum(1 for x in c.client_list() if x["name"] == clog.client_name + "-tail")
    assert all(count >= 1 for count in tails.values()), tails
    assert sum(tails.values()) <= 16


async def test_a_killed_master_fails_over_and_its_wards_tail_on_from_the_promoted_replica(
    cluster_topology: Callable[..., ClusterTopology],
) -> None:
    """kill -9 of a master holding wards: its replica takes the slots; appends retry and the tails, after their
    reader re-reads the slot map, follow on from the promoted replica (the other shards' wards never stop)."""
    cluster = await asyncio.to_thread(cluster_topology, 1)
    log = RedisEventLog(cluster.url(), key_prefix="cfail")
    await log.connect()
    streams = [log_name(f"ward-{i}", uuid.uuid4().hex) for i in range(16)]
    got: dict[str, list[Entry]] = {s: [] for s in streams}

    async def follow(stream: str) -> None:
        while not got[stream] or got[stream][-1].seq < 4:
            try:
                async for entry in log.tail(stream, got[stream][-1].seq if got[stream] else 0):
                    got[stream].append(entry)
                    if entry.seq >= 4:
                        return
            except EventLogUnavailable:
                await asyncio.sleep(0.1)

    async def append(stream: str, seq: int) -> None:
        deadline = time.monotonic() + 40
        while True:
            try:
                result = await log.append(stream, seq, b"{}")
                assert result.status is AppendStatus.APPENDED, result
                return
            except EventLogUnavailable:
                assert time.monotonic() < deadline, f"append {seq} never succeeded"
                await asyncio.sleep(0.2)

    tasks = [asyncio.create_task(follow(s)) for s in streams]
    try:
        for s in streams:
            await append(s, 1)
            await append(s, 2)
        await asyncio.wait_for(_until(lambda: all(len(got[s]) == 2 for s in streams)), 20)
        victim = cluster.node_of_slot(key_slot(log.keys(streams[0])[0].encode()))
        for master in cluster.masters:
            with master.client() as c:
                c.execute_command("WAIT", 1, 5000)  # on its replica: the failover loses nothing
        victim.kill()
        await asyncio.to_thread(cluster.wait_for_failover, victim)
        for s in streams:
            await append(s, 3)
            await append(s, 4)
        await asyncio.wait_for(asyncio.gather(*tasks), 40)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await log.aclose()
    assert all([e.seq for e in got[s]] == [1, 2, 3, 4] and len({e.epoch for e in got[s]}) == 1 for s in streams)


async def _until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.05)
