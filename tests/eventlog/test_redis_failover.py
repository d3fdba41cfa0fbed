"""The Redis log through a real Sentinel failover: the primary killed (kill -9), paused (SIGSTOP), demoted.

Each test starts a Sentinel group of its own (tests/redis_topologies.py) and breaks it. A consumer here
does what the hub does: when its tail raises EventLogUnavailable it tails again from the last entry it
holds; an appender does what the relay does: it retries. The invariant: every entry once, in order,
and when the failover lost confirmed entries, a new epoch (clients resync) rather than a silent gap.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis as redis_sync

from tests.redis_topologies import RedisNode, SentinelTopology
from tests.support import SETUP
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.offsets import log_name
from whiteboard.eventlog import AppendResult, AppendStatus, Entry, EventLogUnavailable, redis_connect
from whiteboard.eventlog.recovery import is_recovered
from whiteboard.eventlog.redis import RedisEventLog
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings
from whiteboard.store import Actor, Store, WriteRequest, migrate, open_store

NURSE = Actor("RN Failover", "nurse", "c1")


def name() -> str:
    return log_name("ward-" + uuid.uuid4().hex[:6], uuid.uuid4().hex)


async def eventually(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
        except (EventLogUnavailable, redis_sync.RedisError, OSError):
            pass
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        await asyncio.sleep(0.05)


async def follow(log: RedisEventLog, stream: str, into: list[Entry], until: int) -> None:
    """Tail like the hub: on EventLogUnavailable, back off and tail again after the last entry held."""
    while not into or into[-1].seq < until:
        try:
            async for entry in log.tail(stream, into[-1].seq if into else 0):
                into.append(entry)
                if entry.seq >= until:
                    return
        except EventLogUnavailable:
            await asyncio.sleep(0.1)


async def append(log: RedisEventLog, stream: str, seq: int, timeout: float = 40.0) -> AppendResult:
    """Append like the relay: retry while the log is unavailable (a failover in progress)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await log.append(stream, seq, b'{"n":%d}' % seq)
        except EventLogUnavailable:
            assert time.monotonic() < deadline, f"append {seq} never succeeded"
            await asyncio.sleep(0.1)


def our_connections(node: RedisNode, client_name: str) -> list[str]:
    with node.client() as c:
        return sorted(x["name"] for x in c.client_list() if x["name"].startswith(client_name))


@pytest.fixture
async def group(sentinel_topology: Callable[[], SentinelTopology]) -> SentinelTopology:
    return await asyncio.to_thread(sentinel_topology)


@pytest.fixture
async def slog(group: SentinelTopology) -> AsyncIterator[RedisEventLog]:
    log = RedisEventLog(group.url(), key_prefix="failover")
    await log.connect()
    yield log
    await log.aclose()


async def _tails_through(group: SentinelTopology, slog: RedisEventLog, fault: Callable[[RedisNode], None]) -> None:
    """Three wards tailed and appended to across `fault` on the primary: each sees 1..8 once, in one epoch."""
    streams = [name() for _ in range(3)]
    got: dict[str, list[Entry]] = {s: [] for s in streams}
    tasks = [asyncio.create_task(follow(slog, s, got[s], 8)) for s in streams]
    try:
        await eventually(lambda: slog.tailed_streams == 3, "tails started")
        for s in streams:
            for seq in (1, 2, 3):
                assert (await append(slog, s, seq)).status is AppendStatus.APPENDED
        await eventually(lambda: all(len(got[s]) == 3 for s in streams), "entries 1-3 tailed")
        old = group.primary
        with old.client() as c:
            assert c.execute_command("WAIT", 2, 5000) == 2  # on both replicas: this failover loses nothing
        fault(old)
        new = await asyncio.to_thread(group.wait_for_new_primary, old)
        for s in streams:
            for seq in (4, 5, 6):
                assert (await append(slog, s, seq)).status is AppendStatus.APPENDED
        await eventually(lambda: all(len(got[s]) == 6 for s in streams), "entries 4-6 tailed from the new primary")
        assert slog.client_name + "-tail" in our_connections(new, slog.client_name)
        old.resume()  # a paused primary comes back, is demoted by the sentinels; a killed one stays down
        for s in streams:
            for seq in (7, 8):
                assert (await append(slog, s, seq)).status is AppendStatus.APPENDED
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        for s in streams:
            assert [e.seq for e in got[s]] == list(range(1, 9))
            assert len({e.epoch for e in got[s]}) == 1
        if old.alive():
            # Nothing of ours stays on the old primary once it is back (demoted): never parked on it.
            await asyncio.to_thread(group.wait_until_replicas_follow)
            await eventually(lambda: our_connections(old, slog.client_name) == [], "connections left the old primary")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_primary_killed_appends_and_tails_go_on_on_the_new_primary(
    group: SentinelTopology, slog: RedisEventLog
) -> None:
    await _tails_through(group, slog, RedisNode.kill)


async def test_primary_paused_appends_and_tails_go_on_on_the_new_primary(
    group: SentinelTopology, slog: RedisEventLog
) -> None:
    """SIGSTOP keeps every socket open and silent: a read blocked on it would wait for its socket timeout,
    the sentinel watcher moves it to the new primary as soon as the sentinels name one."""
    await _tails_through(group, slog, RedisNode.pause)


async def test_a_demoted_primary_unblocks_the_tail_and_it_moves_to_the_new_one(
    group: SentinelTopology, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SENTINEL FAILOVER demotes a live primary under a blocked XREAD: it answers `-UNBLOCKED` (a plain
    ResponseError in redis-py). With the watcher slowed down, that answer alone must move the tail."""
    monkeypatch.setattr(redis_connect, "SENTINEL_POLL_SECS", 3600.0)
    log = RedisEventLog(group.url(), key_prefix="demoted")
    await log.connect()
    try:
        stream = name()
        got: list[Entry] = []
        task = asyncio.create_task(follow(log, stream, got, 3))
        await eventually(lambda: log.tailed_streams == 1, "tail started")
        await append(log, stream, 1)
        await eventually(lambda: len(got) == 1, "entry 1 tailed")
        old = group.primary
        with old.client() as c:
            assert c.execute_command("WAIT", 2, 5000) == 2
        with group.sentinels[0].client() as c:
            c.execute_command("SENTINEL", "FAILOVER", group.service)
        new = await asyncio.to_thread(group.wait_for_new_primary, old)
        # Until the sentinels demote it, the old primary still takes writes (they would be lost: see the
        # next test); once it is a replica, the tail blocked on it is answered -UNBLOCKED.
        await asyncio.to_thread(group.wait_for_role, old, "slave")
        await append(log, stream, 2)
        await append(log, stream, 3)
        await asyncio.wait_for(task, 30)
        assert [e.seq for e in got] == [1, 2, 3]
        assert log.client_name + "-tail" in our_connections(new, log.client_name)
        assert log.client_name + "-tail" not in our_connections(old, log.client_name)
    finally:
        await log.aclose()


async def _sqlite_store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'failover.db'}"
    await migrate.upgrade(url)
    store = open_store(url)
    await store.connect()
    return store


@pytest.mark.parametrize("noticed_by", ["the check after the reconnect", "the next write"])
async def test_a_failover_that_lost_confirmed_entries_starts_a_new_epoch(
    group: SentinelTopology, slog: RedisEventLog, tmp_path: Path, noticed_by: str
) -> None:
    """Replication is asynchronous: the new primary can lack the newest entries, with the epoch unchanged.
    The relay notices (the log's top is behind what it saw confirmed, and the outbox no longer holds those
    changes) and starts a new epoch, so a client holding the old one gets a fresh snapshot instead of a
    replay with a hole: at once, by the check the sweeper makes after the log reconnected, or at the
    ward's next write. The sweeper is driven by hand here, so each path is seen on its own."""
    store = await _sqlite_store(tmp_path)
    metrics = Metrics()
    ingest = Ingest(store, slog, metrics, Settings(outbox_sweep_secs=3600))
    await ingest.start()
    try:
        ward = "w-" + uuid.uuid4().hex[:8]
        await store.add_wards([(ward, ward, [("B1", "Bay 1")])], actor=SETUP)
        state = await store.load_ward(ward)
        assert state is not None

        async def write(notes: str) -> int:
            return (await ingest.submit(WriteRequest(ward, "B1", parse_patch({"notes": notes}), NURSE))).seq

        async def confirmed(top: int) -> bool:
            await ingest.sweep()
            position = await slog.position(state.log)
            return position.top == top and await store.outbox_rows(ward, 0, 1000) == []

        for i in range(3):
            await write(f"kept {i}")
        await eventually(lambda: confirmed(3), "1-3 in the log, outbox swept")
        with group.primary.client() as c:
            assert c.execute_command("WAIT", 2, 5000) == 2
        epoch = (await slog.position(state.log)).epoch
        await asyncio.to_thread(group.cut_replication)
        for i in range(3):
            await write(f"lost {i}")
        await eventually(lambda: confirmed(6), "4-6 confirmed by the primary alone, outbox swept")
        old = group.primary
        reconnects = slog.reconnects
        old.kill()
        await asyncio.to_thread(group.restore_replication)
        await asyncio.to_thread(group.wait_for_new_primary, old)
        # What asynchronous replication did: the same epoch, the newest three entries gone.
        await eventually(lambda: _equals(slog.position(state.log), (epoch, 3)), "the promoted replica answers")
        if noticed_by == "the check after the reconnect":
            # The sentinel watcher reports the switch (within its poll interval); the next sweep checks.
            await eventually(lambda: slog.reconnects > reconnects, "the log reports the failover")
            assert await ingest.check_after_reconnect() == 1
            fresh = await slog.position(state.log)
            assert fresh.epoch != epoch and fresh.top == 0
            assert await ingest.check_after_reconnect() == 0  # once per reconnect
        seq = await write("after the failover")
        assert seq == 7

        async def new_epoch() -> bool:
            position = await slog.position(state.log)
            return position.epoch != epoch and position.top == 7

        await eventually(new_epoch, "a new epoch holding seq 7")
        log_epoch, entries = await slog.read(state.log, 0, 100)
        assert [(e.seq, e.epoch) for e in entries] == [(7, log_epoch)]
        # A client that had seen 6 in the old epoch cannot resume: it gets a snapshot (recovered: false).
        assert not is_recovered(6, entries, log_epoch=log_epoch, after_epoch=epoch, top=7)
        # One that reloads the snapshot at 6 in the new epoch follows on from there.
        assert is_recovered(6, entries, log_epoch=log_epoch, after_epoch=log_epoch, top=7)
        assert metrics.registry.get_sample_value("whiteboard_log_appends_total", {"result": "epoch_restarted"}) == 1
    finally:
        await ingest.aclose()
        await store.aclose()


async def _equals(value: object, expected: tuple[str, int]) -> bool:
    position = await value  # type: ignore[misc]
    return (position.epoch, position.top) == expected
