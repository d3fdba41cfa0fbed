"""Redis Streams event log: what several instances share.

Per ward log two keys share one hash tag, so a Redis Cluster keeps them on one shard and the append
script may touch both: `{prefix}:{<ward>:<uid>}:s` (the stream, ids `SEQ-0`) and `...:m` (a hash with
the epoch and the top sequence number). The append is one Lua script, so the contiguity check, the
`XADD ... MAXLEN ~` and the top update are atomic (centrifuge's broker_history_add_stream.lua).
Every entry carries its epoch, so a tail notices when the log under it was lost and recreated.
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

# Keys idle this long expire, so logs of deleted wards or rebuilt databases do not linger forever.
KEY_TTL_SECS = 90 * 24 * 3600
TAIL_BLOCK_MS = 5000

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

    def __init__(self, url: str, *, key_prefix: str = "wb", maxlen: int = 10_000) -> None:
        self._url = url
        self._prefix = key_prefix
        self._maxlen = maxlen
        self._redis: aioredis.Redis | None = None
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
        # reader) instead of hanging a task forever. Tails block for TAIL_BLOCK_MS, so allow that and more.
        self._redis = aioredis.from_url(
            self._url,
            decode_responses=False,
            socket_connect_timeout=3,
            socket_timeout=TAIL_BLOCK_MS / 1000 + 5,
            health_check_interval=30,
        )
        self._append = self._redis.register_script(_APPEND)
        self._position = self._redis.register_script(_POSITION)

    async def aclose(self) -> None:
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
        return Entry(int(entry_id.split(b"-", 1)[0]), fields[b"e"].decode(), fields[b"d"])

    async def tail(self, log: str, after: int) -> AsyncIterator[Entry]:
        stream, _ = self.keys(log)
        last = f"{after}-0"
        while True:
            try:
                reply: Any = await self.redis.xread({stream: last}, block=TAIL_BLOCK_MS, count=500)
            except (RedisError, OSError) as exc:
                raise EventLogUnavailable(f"redis tail failed: {exc}") from exc
            for _key, rows in reply or ():
                for entry_id, fields in rows:
                    last = entry_id.decode()
                    yield self._entry(entry_id, fields)
