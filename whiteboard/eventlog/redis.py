"""Redis Streams event log: what several instances share.

Per ward log two keys share one hash tag, so a Redis Cluster keeps them on one shard and the append
script may touch both: `{prefix}:{<ward>:<uid>}:s` (the stream, ids `SEQ-0`) and `...:m` (a hash with
the epoch and the top sequence number). The append is one Lua script, so the contiguity check, the
`XADD ... MAXLEN ~` and the top update are atomic (centrifuge's broker_history_add_stream.lua).
Every entry carries its epoch, so a tail notices when the log under it was lost and recreated.

Two kinds of connection per instance, both named `client_name` (CLIENT LIST shows whose they are): a
small pool for commands, and one connection on which `redis_tail.TailReader` tails every ward with one
blocking XREAD (`<client_name>-tail`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from whiteboard.eventlog.base import AppendResult, AppendStatus, Entry, EventLog, EventLogUnavailable, Position
from whiteboard.eventlog.redis_tail import WAKE_TTL_SECS, TailReader, entry_of

# Keys idle this long expire, so logs of deleted wards or rebuilt databases do not linger forever.
KEY_TTL_SECS = 90 * 24 * 3600
TAIL_BLOCK_MS = 5000  # a new tail wakes the read; this bounds only how long a lost wake can delay it
TAIL_COUNT = 500  # entries per stream per read
# Redis's cost of a blocking XREAD grows with its keys (measured ~1.7 us per key, paid again on every
# re-issue, i.e. per event: docs/PERFORMANCE.md), so an instance tails up to this many wards per
# connection: 2,000 wards hold 16 connections, and an event costs Redis a 128-key read, not 2,000.
STREAMS_PER_CONNECTION = 128
COMMAND_TIMEOUT_SECS = 5

_APPEND = """
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'top', 0)
end
local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')
local seq = tonumber(ARGV[1])
if top > 0 and seq <= top then return {epoch, 'duplicate', top} end
if top > 0 and seq ~= top + 1 then return {epoch, 'gap', top} end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[1] .. '-0', 'e', epoch, 'd', ARGV[2])
redis.call('HSET', KEYS[2], 'top', seq)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {epoch, 'appended', seq}
"""

_POSITION = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return {epoch, redis.call('HGET', KEYS[1], 'top') or '0'}
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisEventLog(EventLog):
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "wb",
        maxlen: int = 10_000,
        client_name: str | None = None,
        streams_per_connection: int = STREAMS_PER_CONNECTION,
    ) -> None:
        self._url = url
        self._prefix = key_prefix
        self._maxlen = maxlen
        self.client_name = client_name or f"wb-{uuid.uuid4().hex[:12]}"
        self._streams_per_connection = streams_per_connection
        self._redis: aioredis.Redis | None = None
        self._tail_pool: aioredis.ConnectionPool | None = None
        self._tails: list[TailReader] = []
        self._append: Any = None
        self._position: Any = None

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("RedisEventLog used before connect()")
        return self._redis

    def keys(self, log: str) -> tuple[str, str]:
        base = f"{self._prefix}:{{{log}}}"
        return base + ":s", base + ":m"

    async def connect(self) -> None:
        # Every call is bounded: a reply that never comes fails (and is retried by the relay or the
        # reader) instead of hanging a task forever.
        self._redis = aioredis.from_url(
            self._url,
            decode_responses=False,
            socket_connect_timeout=3,
            socket_timeout=COMMAND_TIMEOUT_SECS,
            health_check_interval=30,
            client_name=self.client_name,
        )
        self._append = self._redis.register_script(_APPEND)
        self._position = self._redis.register_script(_POSITION)
        # The tail connections' socket timeout must outlast their block, or every idle read would fail.
        self._tail_pool = aioredis.ConnectionPool.from_url(
            self._url,
            decode_responses=False,
            socket_connect_timeout=3,
            socket_timeout=TAIL_BLOCK_MS / 1000 + COMMAND_TIMEOUT_SECS,
            client_name=self.client_name + "-tail",
        )

    async def _wake(self, key: bytes, wake_id: int) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"w": b"1"}, id=f"{wake_id}-0", maxlen=1, approximate=False)
            pipe.expire(key, WAKE_TTL_SECS)
            await pipe.execute()

    async def aclose(self) -> None:
        for reader in self._tails:
            await reader.aclose()
        if self._redis is not None:
            # Bounded: a connection left mid-command by a cancelled task must not hang a shutdown.
            with contextlib.suppress(TimeoutError, RedisError, OSError):
                async with asyncio.timeout(3):
                    await self._redis.aclose()

    async def ping(self) -> None:
        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            raise EventLogUnavailable(f"redis does not answer: {exc}") from exc

    async def append(self, log: str, seq: int, payload: bytes) -> AppendResult:
        stream, meta = self.keys(log)
        try:
            epoch, status, top = await self._append(
                keys=[stream, meta], args=[seq, payload, self._maxlen, uuid.uuid4().hex, KEY_TTL_SECS]
            )
        except (RedisError, OSError) as exc:
            raise EventLogUnavailable(f"redis append failed: {exc}") from exc
        return AppendResult(AppendStatus(_text(status)), _text(epoch), int(top))

    async def position(self, log: str) -> Position:
        _, meta = self.keys(log)
        try:
            epoch, top = await self._position(keys=[meta], args=[uuid.uuid4().hex, KEY_TTL_SECS])
        except (RedisError, OSError) as exc:
            raise EventLogUnavailable(f"redis position failed: {exc}") from exc
        return Position(_text(epoch), int(top))

    async def read(self, log: str, after: int, limit: int) -> tuple[str, list[Entry]]:
        stream, meta = self.keys(log)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hget(meta, "epoch")
                pipe.xrange(stream, min=f"{after + 1}-0", max="+", count=limit)
                epoch_raw, rows = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise EventLogUnavailable(f"redis read failed: {exc}") from exc
        if epoch_raw is None:
            epoch = (await self.position(log)).epoch
        else:
            epoch = _text(epoch_raw)
        return epoch, [self._entry(entry_id, fields) for entry_id, fields in rows]

    @staticmethod
    def _entry(entry_id: bytes, fields: dict[bytes, bytes]) -> Entry:
        return entry_of(entry_id, fields)

    @property
    def tailed_streams(self) -> int:
        """How many ward logs this instance's tail connections are following."""
        return sum(reader.streams for reader in self._tails)

    async def tail(self, log: str, after: int) -> AsyncIterator[Entry]:
        if self._tail_pool is None:
            raise RuntimeError("RedisEventLog used before connect()")
        key = self.keys(log)[0].encode()
        # The reader is chosen when iteration starts, so tails created together still spread out.
        async with contextlib.aclosing(self._reader_for(key).tail(key, after)) as entries:
            async for entry in entries:
                yield entry

    def _reader_for(self, key: bytes) -> TailReader:
        """The reader already tailing `key`, else the first with room, else a new one (a new connection)."""
        for reader in self._tails:
            if reader.follows(key):
                return reader
        for reader in self._tails:
            if reader.streams < self._streams_per_connection:
                return reader
        assert self._tail_pool is not None
        wake_key = f"{self._prefix}:wake:{self.client_name}-{len(self._tails)}".encode()
        reader = TailReader(
            self._tail_pool.make_connection, self._wake, wake_key, block_ms=TAIL_BLOCK_MS, count=TAIL_COUNT
        )
        self._tails.append(reader)
        return reader
