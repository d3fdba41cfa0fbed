"""One behaviour suite for the event-log seam, run against every backend: in-process, one real Redis, a real
Sentinel group (1 primary + 2 replicas + 3 sentinels) and a real three-master Cluster (tests/eventlog/conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis as redis_sync

from whiteboard.domain.offsets import log_name
from whiteboard.eventlog import AppendStatus, Entry, EventLog, EventLogUnavailable, open_event_log
from whiteboard.eventlog.recovery import is_recovered


@pytest.fixture
async def elog(topology_log: tuple[str, str]) -> AsyncIterator[EventLog]:
    url, prefix = topology_log
    log = open_event_log(url, key_prefix=prefix, maxlen=50)
    await log.connect()
    yield log
    await log.aclose()


def name() -> str:
    return log_name("ward-" + uuid.uuid4().hex[:6], uuid.uuid4().hex)


async def fill(log: EventLog, stream: str, first: int, last: int) -> None:
    for seq in range(first, last + 1):
        result = await log.append(stream, seq, b'{"n":%d}' % seq)
        assert result.status is AppendStatus.APPENDED


async def test_append_then_read_in_order(elog: EventLog) -> None:
    """Entries come back in order, with their payloads and one epoch."""
    stream = name()
    await fill(elog, stream, 1, 5)
    epoch, entries = await elog.read(stream, 0, 100)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert [e.payload for e in entries] == [b'{"n":%d}' % i for i in range(1, 6)]
    assert {e.epoch for e in entries} == {epoch}
    assert entries[0].offset == "1-0"


async def test_read_after_and_limit(elog: EventLog) -> None:
    stream = name()
    await fill(elog, stream, 1, 10)
    _, entries = await elog.read(stream, 4, 3)
    assert [e.seq for e in entries] == [5, 6, 7]
    _, entries = await elog.read(stream, 10, 3)
    assert entries == []


async def test_append_is_idempotent(elog: EventLog) -> None:
    """The same sequence number twice is a duplicate, and the log keeps one copy."""
    stream = name()
    await fill(elog, stream, 1, 3)
    again = await elog.append(stream, 2, b"other")
    assert again.status is AppendStatus.DUPLICATE
    assert again.top == 3
    _, entries = await elog.read(stream, 0, 100)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].payload == b'{"n":2}'


async def test_append_refuses_a_gap(elog: EventLog) -> None:
    """A jump is refused with the top, so the caller appends the missing entries first."""
    stream = name()
    await fill(elog, stream, 1, 3)
    gap = await elog.append(stream, 6, b"x")
    assert gap.status is AppendStatus.GAP
    assert gap.top == 3
    await fill(elog, stream, 4, 6)
    _, entries = await elog.read(stream, 0, 100)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]


async def test_fresh_log_starts_at_any_sequence(elog: EventLog) -> None:
    """A log created after the database has history starts where the database is."""
    stream = name()
    await fill(elog, stream, 41, 42)
    pos = await elog.position(stream)
    assert pos.top == 42
    epoch, entries = await elog.read(stream, 0, 10)
    assert [e.seq for e in entries] == [41, 42]
    assert not is_recovered(0, entries, log_epoch=epoch, after_epoch=None, top=42)
    assert is_recovered(40, entries, log_epoch=epoch, after_epoch=None, top=42)


async def test_position_creates_a_stable_epoch(elog: EventLog) -> None:
    stream = name()
    first = await elog.position(stream)
    assert first.top == 0
    await fill(elog, stream, 1, 1)
    second = await elog.position(stream)
    assert second.epoch == first.epoch
    assert second.top == 1


async def test_logs_are_independent(elog: EventLog) -> None:
    a, b = name(), name()
    await fill(elog, a, 1, 2)
    await fill(elog, b, 1, 1)
    assert (await elog.position(a)).top == 2
    assert (await elog.position(b)).top == 1
    assert (await elog.position(a)).epoch != (await elog.position(b)).epoch


async def test_retention_trims_old_entries_and_recovery_notices(elog: EventLog) -> None:
    """Past the retention limit old entries go, and replay from before them is not a recovery."""
    stream = name()
    await fill(elog, stream, 1, 400)  # maxlen is 50; Redis trims approximately (whole nodes)
    epoch, entries = await elog.read(stream, 0, 1000)
    assert entries[-1].seq == 400
    assert entries[0].seq > 1
    assert len(entries) < 400
    assert not is_recovered(0, entries, log_epoch=epoch, after_epoch=None, top=400)
    kept_from = entries[0].seq
    _, tail = await elog.read(stream, kept_from - 1, 1000)
    assert is_recovered(kept_from - 1, tail, log_epoch=epoch, after_epoch=epoch, top=400)


async def test_tail_yields_existing_then_new_entries(elog: EventLog) -> None:
    stream = name()
    await fill(elog, stream, 1, 3)
    got: list[Entry] = []

    async def consume() -> None:
        async for entry in elog.tail(stream, 1):
            got.append(entry)
            if entry.seq == 6:
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await fill(elog, stream, 4, 6)
    await asyncio.wait_for(task, 10)
    assert [e.seq for e in got] == [2, 3, 4, 5, 6]


async def test_two_tails_see_the_same_entries(elog: EventLog) -> None:
    stream = name()
    results: list[list[int]] = [[], []]

    async def consume(i: int) -> None:
        async for entry in elog.tail(stream, 0):
            results[i].append(entry.seq)
            if entry.seq == 20:
                return

    tasks = [asyncio.create_task(consume(i)) for i in range(2)]
    await asyncio.sleep(0.05)
    await fill(elog, stream, 1, 20)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert results[0] == results[1] == list(range(1, 21))


async def test_concurrent_appenders_never_duplicate_or_reorder(elog: EventLog) -> None:
    """Two relays pushing the same committed changes race; the log still holds each once, in order."""
    stream = name()

    async def relay() -> None:
        seq = 1
        while seq <= 60:
            result = await elog.append(stream, seq, b"%d" % seq)
            if result.status is AppendStatus.GAP:
                seq = result.top + 1
                continue
            seq += 1

    await asyncio.gather(relay(), relay())
    _, entries = await elog.read(stream, 0, 1000)
    seqs = [e.seq for e in entries]
    assert seqs == sorted(set(seqs))
    assert seqs == list(range(seqs[0], 61))


async def test_restart_starts_a_new_epoch_only_if_the_log_is_still_as_seen(elog: EventLog) -> None:
    """A log that lost confirmed entries is replaced by a new epoch, once, however many relays notice; a tail
    following it sees the new epoch's entries (and so knows to resync)."""
    stream = name()
    await fill(elog, stream, 1, 3)
    seen = await elog.position(stream)
    got: list[Entry] = []

    async def consume() -> None:
        async for entry in elog.tail(stream, 3):
            got.append(entry)
            return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    assert await elog.restart(stream, seen.epoch, 2) == seen  # not where the caller saw it: unchanged
    fresh = await elog.restart(stream, seen.epoch, 3)
    assert fresh.epoch != seen.epoch and fresh.top == 0
    assert (await elog.read(stream, 0, 10))[1] == []
    appended = await elog.append(stream, 7, b"x")
    assert appended.status is AppendStatus.APPENDED and appended.epoch == fresh.epoch
    again = await elog.restart(stream, seen.epoch, 3)  # a second relay noticing the same loss
    assert (again.epoch, again.top) == (fresh.epoch, 7)
    await asyncio.wait_for(task, 10)
    assert [(e.seq, e.epoch) for e in got] == [(7, fresh.epoch)]


async def test_redis_keys_use_prefix_and_a_hash_tag_per_ward(redis_url: str, redis_prefix: str) -> None:
    """Both keys of a ward share one hash tag, so a Redis Cluster keeps them on one shard."""
    log = open_event_log(redis_url, key_prefix=redis_prefix)
    await log.connect()
    try:
        stream = log_name("ward-x", "abc123")
        await log.append(stream, 1, b"{}")
        keys = sorted(k.decode() for k in redis_sync.Redis.from_url(redis_url).scan_iter(match=f"{redis_prefix}:*"))
        assert keys == [f"{redis_prefix}:{{ward-x:abc123}}:m", f"{redis_prefix}:{{ward-x:abc123}}:s"]
    finally:
        await log.aclose()


async def test_redis_log_lost_gets_a_new_epoch(redis_url: str, redis_prefix: str) -> None:
    """When Redis loses a ward's keys (restart without persistence), the next append starts a new epoch."""
    log = open_event_log(redis_url, key_prefix=redis_prefix)
    await log.connect()
    try:
        stream = name()
        first = await log.append(stream, 1, b"{}")
        client = redis_sync.Redis.from_url(redis_url)
        client.delete(*[k for k in client.scan_iter(match=f"{redis_prefix}:*")])
        second = await log.append(stream, 2, b"{}")
        assert second.status is AppendStatus.APPENDED
        assert second.epoch != first.epoch
    finally:
        await log.aclose()


async def test_redis_unreachable_raises_unavailable() -> None:
    from tests.support import free_port

    log = open_event_log(f"redis://127.0.0.1:{free_port()}/0")
    await log.connect()
    try:
        with pytest.raises(EventLogUnavailable):
            await log.ping()
        with pytest.raises(EventLogUnavailable):
            await log.append(name(), 1, b"{}")
    finally:
        await log.aclose()


def test_unknown_scheme_is_explained() -> None:
    with pytest.raises(ValueError, match="memory:// or redis://"):
        open_event_log("kafka://x")
