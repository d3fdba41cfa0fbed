"""The Redis trim's epoch check, on a real Redis: a log restarted between the search and the XTRIM (a failover
that lost entries, `restart`) is a new log, whose entries may reuse low sequence numbers; the trim leaves it
alone instead of cutting it at the old log's boundary."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from whiteboard.domain.clock import iso
from whiteboard.domain.offsets import log_name
from whiteboard.eventlog.redis import RedisEventLog
from whiteboard.eventlog.redis_trim import trim_stream

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
async def elog(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisEventLog]:
    log = RedisEventLog(redis_url, key_prefix=redis_prefix)
    await log.connect()
    yield log
    await log.aclose()


async def fill(log: RedisEventLog, stream: str, seqs: range) -> None:
    for seq in seqs:
        event = {"kind": "bed.updated", "at": iso(T0 + dt.timedelta(minutes=seq))}
        await log.append(stream, seq, orjson.dumps(event))


class RestartsBeforeTheTrim:
    """The real client, except that just before the trim's script another instance restarts the log and
    appends to the new epoch from seq 1."""

    def __init__(self, elog: RedisEventLog, log: str) -> None:
        self.elog, self.log = elog, log

    def __getattr__(self, name: str) -> Any:
        return getattr(self.elog.redis, name)

    async def eval(self, *args: Any) -> Any:
        position = await self.elog.position(self.log)
        await self.elog.restart(self.log, position.epoch, position.top)
        await fill(self.elog, self.log, range(1, 4))
        return await self.elog.redis.eval(*args)


async def test_a_log_restarted_during_the_trim_is_left_alone(elog: RedisEventLog) -> None:
    log = log_name("ward-trim", "uid")
    await fill(elog, log, range(1, 11))
    before = await elog.position(log)
    stream, meta = elog.keys(log)
    cutoff = T0 + dt.timedelta(minutes=5, seconds=30)
    assert await trim_stream(RestartsBeforeTheTrim(elog, log), stream, meta, cutoff, dry_run=False) == 0
    epoch, entries = await elog.read(log, 0, 100)
    assert epoch != before.epoch and [e.seq for e in entries] == [1, 2, 3]  # the new log, whole
    assert await elog.trim_before(log, cutoff) == 3  # its own entries are old too: the next run trims them
