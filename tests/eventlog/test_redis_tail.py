"""The Redis log's one tail connection per instance: many wards on it, wards coming and going, outages."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis as redis_sync

from tests.support import free_port
from whiteboard.domain.offsets import log_name
from whiteboard.eventlog import AppendStatus, Entry, EventLogUnavailable, redis_tail
from whiteboard.eventlog.redis import TAIL_BLOCK_MS, RedisEventLog


def name() -> str:
    return log_name("ward-" + uuid.uuid4().hex[:6], uuid.uuid4().hex)


@pytest.fixture
async def rlog(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisEventLog]:
    log = RedisEventLog(redis_url, key_prefix=redis_prefix)
    await log.connect()
    yield log
    await log.aclose()


def connections(redis_url: str, client_name: str) -> list[str]:
    """The names of this instance's connections in CLIENT LIST (the command pool's and the tail's)."""
    admin = redis_sync.Redis.from_url(redis_url)
    try:
        return sorted(c["name"] for c in admin.client_list() if c["name"].startswith(client_name))
    finally:
        admin.close()


async def append(log: RedisEventLog, stream: str, *seqs: int) -> None:
    for seq in seqs:
        assert (await log.append(stream, seq, b'{"n":%d}' % seq)).status is AppendStatus.APPENDED


async def collect(log: RedisEventLog, stream: str, after: int, until: int, into: list[Entry]) -> None:
    async for entry in log.tail(stream, after):
        into.append(entry)
        if entry.seq >= until:
            return


async def eventually(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(("per_connection", "readers"), [(1000, 1), (128, 3)])
async def test_many_wards_share_a_tail_connection(
    redis_url: str, redis_prefix: str, per_connection: int, readers: int
) -> None:
    """300 wards tailed at once hold one tail connection per `streams_per_connection` wards, and each ward
    still gets its own entries in order."""
    rlog = RedisEventLog(redis_url, key_prefix=redis_prefix, streams_per_connection=per_connection)
    await rlog.connect()
    try:
        await _many_wards(rlog, redis_url, readers)
    finally:
        await rlog.aclose()


async def _many_wards(rlog: RedisEventLog, redis_url: str, readers: int) -> None:
    streams = [name() for _ in range(300)]
    got: dict[str, list[Entry]] = {s: [] for s in streams}
    tasks = [asyncio.create_task(collect(rlog, s, 0, 2, got[s])) for s in streams]
    await eventually(lambda: rlog.tailed_streams == 300)
    for s in streams:
        await append(rlog, s, 1, 2)
    await asyncio.wait_for(asyncio.gather(*tasks), 20)
    assert all([e.seq for e in got[s]] == [1, 2] for s in streams)
    assert all(e.payload == b'{"n":2}' for s in streams for e in got[s][1:])
    names = connections(redis_url, rlog.client_name)
    assert names.count(rlog.client_name + "-tail") == readers
    assert len(names) <= readers + 2, names  # the tails and the (sequentially used) command pool
    await eventually(lambda: rlog.tailed_streams == 0)


async def test_a_ward_added_while_the_read_blocks_gets_its_first_entry_promptly(rlog: RedisEventLog) -> None:
    """The read blocks for seconds; a new tail wakes it instead of waiting for it to time out."""
    first, second = name(), name()
    got_first: list[Entry] = []
    waiting = asyncio.create_task(collect(rlog, first, 0, 1, got_first))
    await eventually(lambda: rlog.tailed_streams == 1)
    await asyncio.sleep(0.3)  # the reader is now blocked in XREAD on `first` alone
    got: list[Entry] = []
    added = asyncio.create_task(collect(rlog, second, 0, 1, got))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await append(rlog, second, 1)
    await asyncio.wait_for(added, 10)
    took = time.monotonic() - started
    assert [e.seq for e in got] == [1]
    assert took < TAIL_BLOCK_MS / 1000 / 2, f"the new ward waited {took:.2f}s: the blocked read was not woken"
    await append(rlog, first, 1)
    await asyncio.wait_for(waiting, 10)
    assert [e.seq for e in got_first] == [1]


async def test_removing_a_tail_leaves_the_others_reading(rlog: RedisEventLog) -> None:
    """A cancelled tail and a tail left by `break` both stop being read; the rest go on, nothing leaks."""
    kept, cancelled, left = name(), name(), name()
    got: list[Entry] = []
    keep = asyncio.create_task(collect(rlog, kept, 0, 3, got))
    stop = asyncio.create_task(collect(rlog, cancelled, 0, 99, []))

    async def leave() -> None:
        async for _ in rlog.tail(left, 0):
            break

    await eventually(lambda: rlog.tailed_streams == 2)
    leaving = asyncio.create_task(leave())
    await eventually(lambda: rlog.tailed_streams == 3)
    await append(rlog, left, 1)
    await asyncio.wait_for(leaving, 10)
    stop.cancel()
    await asyncio.gather(stop, return_exceptions=True)
    await eventually(lambda: rlog.tailed_streams == 1)
    await append(rlog, cancelled, 1, 2)
    await append(rlog, kept, 1, 2, 3)
    await asyncio.wait_for(keep, 10)
    assert [e.seq for e in got] == [1, 2, 3]
    await eventually(lambda: rlog.tailed_streams == 0)


async def test_tails_of_one_ward_at_different_positions_each_get_theirs_once(rlog: RedisEventLog) -> None:
    stream = name()
    await append(rlog, stream, *range(1, 11))
    early: list[Entry] = []
    late: list[Entry] = []
    a = asyncio.create_task(collect(rlog, stream, 8, 12, late))
    await asyncio.sleep(0.2)
    b = asyncio.create_task(collect(rlog, stream, 2, 12, early))  # joins behind the read on the wire
    await asyncio.sleep(0.1)
    await append(rlog, stream, 11, 12)
    await asyncio.wait_for(asyncio.gather(a, b), 10)
    assert [e.seq for e in late] == [9, 10, 11, 12]
    assert [e.seq for e in early] == list(range(3, 13))


async def test_a_slow_tail_is_paused_and_catches_up_without_loss(
    rlog: RedisEventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A consumer that stops reading stops being read past HIGH_WATER; the others go on; it resumes in order."""
    monkeypatch.setattr(redis_tail, "HIGH_WATER", 5)
    stream = name()
    fast: list[Entry] = []
    fast_task = asyncio.create_task(collect(rlog, stream, 0, 40, fast))
    slow = rlog.tail(stream, 0)
    first = await anext_soon(slow, after=lambda: append(rlog, stream, 1))
    await append(rlog, stream, *range(2, 41))
    await asyncio.wait_for(fast_task, 10)
    assert [e.seq for e in fast] == list(range(1, 41))
    rest = [first] + [await asyncio.wait_for(anext(slow), 5) for _ in range(39)]
    assert [e.seq for e in rest] == list(range(1, 41))
    await slow.aclose()  # type: ignore[attr-defined]


async def anext_soon(it: AsyncIterator[Entry], after: object) -> Entry:
    pending = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.1)
    await after()  # type: ignore[operator]
    return await asyncio.wait_for(pending, 10)


async def test_unblocked_and_killed_reader_connections_reconnect_without_a_loss(
    rlog: RedisEventLog, redis_url: str
) -> None:
    """`-UNBLOCKED` (a demoted primary) and a dropped connection: the reader reconnects, the tail sees nothing."""
    stream = name()
    got: list[Entry] = []
    task = asyncio.create_task(collect(rlog, stream, 0, 3, got))
    admin = redis_sync.Redis.from_url(redis_url)
    try:
        await eventually(lambda: rlog.tailed_streams == 1)
        await asyncio.sleep(0.2)
        await append(rlog, stream, 1)
        reader = next(c for c in admin.client_list() if c["name"] == rlog.client_name + "-tail")
        await eventually(lambda: got != [] and admin.client_unblock(int(reader["id"]), error=True))
        await append(rlog, stream, 2)
        await eventually(lambda: len(got) == 2)
        reader = next(c for c in admin.client_list() if c["name"] == rlog.client_name + "-tail")
        admin.client_kill_filter(_id=reader["id"])
        await append(rlog, stream, 3)
        await asyncio.wait_for(task, 10)
    finally:
        admin.close()
    assert [e.seq for e in got] == [1, 2, 3]


class OwnRedis:
    """A redis-server of this test's own on a free port, so it can be stopped and started again."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run scripts/test, which installs it with apt")
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


async def test_redis_restart_mid_tail_raises_unavailable_then_tails_again(own_redis: OwnRedis) -> None:
    """Redis goes away under every tail: each raises EventLogUnavailable; tailing again after it is back works."""
    log = RedisEventLog(f"redis://127.0.0.1:{own_redis.port}/0", key_prefix="restart")
    await log.connect()
    try:
        await eventually_up(log)
        streams = [name() for _ in range(3)]
        got: dict[str, list[Entry]] = {s: [] for s in streams}
        errors: list[BaseException] = []

        async def follow(s: str) -> None:
            try:
                await collect(log, s, 0, 99, got[s])
            except EventLogUnavailable as exc:
                errors.append(exc)

        tasks = [asyncio.create_task(follow(s)) for s in streams]
        await eventually(lambda: log.tailed_streams == 3)
        for s in streams:
            await append(log, s, 1)
        await eventually(lambda: all(got[s] for s in streams))
        own_redis.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)
        assert len(errors) == 3
        assert log.tailed_streams == 0
        own_redis.start()
        await eventually_up(log)
        after: list[Entry] = []
        again = asyncio.create_task(collect(log, streams[0], 1, 2, after))
        await asyncio.sleep(0.1)
        # The restarted Redis lost the log: it starts afresh (a new epoch) where the database is.
        result = await log.append(streams[0], 2, b"{}")
        assert result.status is AppendStatus.APPENDED
        await asyncio.wait_for(again, 10)
        assert [(e.seq, e.epoch) for e in after] == [(2, result.epoch)]
        assert after[0].epoch != got[streams[0]][0].epoch
    finally:
        await log.aclose()


async def eventually_up(log: RedisEventLog) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            await log.ping()
            return
        except EventLogUnavailable:
            assert time.monotonic() < deadline, "the test's redis-server did not start"
            await asyncio.sleep(0.05)


async def test_a_closed_log_ends_its_tails(redis_url: str, redis_prefix: str) -> None:
    log = RedisEventLog(redis_url, key_prefix=redis_prefix)
    await log.connect()
    stream = name()
    task = asyncio.create_task(collect(log, stream, 0, 99, []))
    await eventually(lambda: log.tailed_streams == 1)
    await log.aclose()
    with pytest.raises(EventLogUnavailable):
        await asyncio.wait_for(task, 5)
    await eventually(lambda: connections(redis_url, log.client_name) == [])


async def test_a_malformed_entry_fails_only_its_wards_tails(rlog: RedisEventLog, redis_url: str) -> None:
    """Something else writing to a ward's stream ends that ward's tail (the hub resyncs); other wards read on."""
    bad, good = name(), name()
    got: list[Entry] = []
    broken = asyncio.create_task(collect(rlog, bad, 0, 99, []))
    fine = asyncio.create_task(collect(rlog, good, 0, 2, got))
    await eventually(lambda: rlog.tailed_streams == 2)
    await append(rlog, good, 1)
    admin = redis_sync.Redis.from_url(redis_url)
    try:
        admin.xadd(rlog.keys(bad)[0], {"x": "not ours"}, id="5-0")
    finally:
        admin.close()
    with pytest.raises(EventLogUnavailable, match="malformed"):
        await asyncio.wait_for(broken, 10)
    await append(rlog, good, 2)
    await asyncio.wait_for(fine, 10)
    assert [e.seq for e in got] == [1, 2]


async def test_reconnecting_the_tails_mid_read_loses_and_doubles_nothing(rlog: RedisEventLog, redis_url: str) -> None:
    """What the Sentinel watcher does when the primary moves, done twice in a row while a read blocks and
    between appends: every entry still arrives once, in order, and the old connection is gone."""
    stream = name()
    got: list[Entry] = []
    task = asyncio.create_task(collect(rlog, stream, 0, 4, got))
    await eventually(lambda: rlog.tailed_streams == 1)
    await append(rlog, stream, 1)
    await eventually(lambda: len(got) == 1)
    before = connections(redis_url, rlog.client_name).count(rlog.client_name + "-tail")
    rlog.reconnect_tails()
    rlog.reconnect_tails()
    await append(rlog, stream, 2)
    rlog.reconnect_tails()
    await append(rlog, stream, 3, 4)
    await asyncio.wait_for(task, 10)
    assert [e.seq for e in got] == [1, 2, 3, 4]
    assert before == 1
    await eventually(lambda: connections(redis_url, rlog.client_name).count(rlog.client_name + "-tail") == 1)
