"""A ward's live feed from Redis: quiet is not stuck, stuck is reported by ward, and it recovers.

A real redis-server of the test's own is paused with SIGSTOP (its sockets stay open and silent, as a
hung host's do) and resumed with SIGCONT.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.redis_topologies import RedisNode
from whiteboard.domain.offsets import log_name
from whiteboard.eventlog import AppendStatus, Entry, EventLogUnavailable
from whiteboard.eventlog.redis import RedisEventLog

BLOCK_MS = 300
STALL_SECS = 1.0


async def eventually(check: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()  # type: ignore[operator]
            if asyncio.iscoroutine(result):
                result = await result
            if result is not False:
                return
        except EventLogUnavailable:
            pass
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        await asyncio.sleep(0.05)


async def follow(log: RedisEventLog, stream: str, into: list[Entry]) -> None:
    """Tail like the hub: on EventLogUnavailable, tail again after the last entry held."""
    while True:
        try:
            async for entry in log.tail(stream, into[-1].seq if into else 0):
                into.append(entry)
        except EventLogUnavailable:
            await asyncio.sleep(0.1)


async def test_a_quiet_feed_is_live_a_stuck_one_names_its_ward_and_recovers(solo_redis: RedisNode) -> None:
    log = RedisEventLog(
        f"redis://127.0.0.1:{solo_redis.port}/0", key_prefix="live", tail_block_ms=BLOCK_MS, tail_stall_secs=STALL_SECS
    )
    await log.connect()
    stream = log_name("ward-quiet1", uuid.uuid4().hex)
    got: list[Entry] = []
    task = asyncio.create_task(follow(log, stream, got))
    try:
        await eventually(lambda: log.tailed_streams == 1, "tail started")
        # Quiet for longer than the stall bound and than the tail's socket timeout (block + 2 s): each block
        # ends with an empty answer, no read times out, nothing is reported.
        await asyncio.sleep(3.0)
        await log.ping()
        assert log.stalled_wards() == [] and got == []
        solo_redis.pause()
        await eventually(lambda: log.stalled_wards() == ["ward-quiet1"], "the stuck feed reported")
        with pytest.raises(EventLogUnavailable, match=r"redis: the live feed of ward\(s\) ward-quiet1 has not"):
            await log.ping()
        solo_redis.resume()
        await eventually(log.ping, "ping answers again")
        assert log.stalled_wards() == []
        assert (await log.append(stream, 1, b"{}")).status is AppendStatus.APPENDED
        await eventually(lambda: [e.seq for e in got] == [1], "the feed delivers again")
    finally:
        solo_redis.resume()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await log.aclose()
