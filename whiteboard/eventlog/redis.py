"""Redis Streams event log: what several instances share.

Per ward log two keys share one hash tag, so a Redis Cluster keeps them on one shard and the append
script may touch both: `{prefix}:{<ward>:<uid>}:s` (the stream, ids `SEQ-0`) and `...:m` (a hash with
the epoch and the top sequence number). The append is one Lua script, so the contiguity check, the
`XADD ... MAXLEN ~` and the top update are atomic (centrifuge's broker_history_add_stream.lua).
Every entry carries its epoch, so a tail notices when the log under it was lost and recreated.

Two kinds of connection per instance, both named `client_name` (CLIENT LIST shows whose they are): a
small pool for commands, and one connection on which `redis_tail.TailReader` tails every ward with one
blocking XREAD (`<client_name>-tail`). Where they go (one server, Sentinel's primary, a Cluster's
primaries) is `redis_connect`'s job; the URL chooses (`redis_url`).

After a failover the new primary may lack the newest entries (replication is asynchronous) with the
epoch unchanged; `restart` starts a new epoch for such a log (the relay calls it when the log's top is
behind what the outbox confirmed), so clients resync instead of silently missing those entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from whiteboard.eventlog.base import AppendResult, AppendStatus, Entry, EventLog, EventLogUnavailable, Position
from whiteboard.eventlog.redis_connect import Connector, connector_for
from whiteboard.eventlog.redis_tail import WAKE_TTL_SECS, TailReader, entry_of
from whiteboard.eventlog.redis_url import parse_redis_url

# Keys idle this long expire, so logs of deleted wards or rebuilt databases do not linger forever.
KEY_TTL_SECS = 90 * 24 * 3600
TAIL_BLOCK_MS = 5000  # a new tail wakes the read; this bounds only how long a lost wake can delay it
TAIL_COUNT = 500  # entries per stream per read
# Redis's cost of a blocking XREAD grows with its keys (measured ~1.7 us per key, paid again on every
# re-issue, i.e. per event: docs/PERFORMANCE.md), so an instance tails up to this many wards per
# connection: 2,000 wards hold 16 connections, and an event costs Redis a 128-key read, not 2,000.
STREAMS_PER_CONNECTION = 128
COMMAND_TIMEOUT_SECS = 5
TAIL_STALL_SECS = 20.0  # a tail read unanswered this long is stuck (a healthy one answers every block)

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

# A new epoch, only if the log is still where the caller saw it (two instances noticing the same loss
# make one new epoch, not two).
_RESTART = """
local epoch = redis.call('HGET', KEYS[2], 'epoch') or ''
local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')
if epoch == ARGV[1] and top == tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  epoch = ARGV[3]
  top = 0
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'top', 0)
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return {epoch, top}
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
        tail_block_ms: int = TAIL_BLOCK_MS,
        tail_stall_secs: float = TAIL_STALL_SECS,
    ) -> None:
        self._prefix = key_prefix
        self._maxlen = maxlen
        self.client_name = client_name or f"wb-{uuid.uuid4().hex[:12]}"
        self._streams_per_connection = streams_per_connection
        self._block_ms = tail_block_ms
        self._stall_secs = tail_stall_secs
        # Every call is bounded: a reply that never comes fails (and is retried by the relay or the reader)
        # instead of hanging a task forever. A tail connection's timeout outlasts its block, or every idle
        # read would fail; it is short enough that a paused server is left within seconds.
        self._connector: Connector = connector_for(
            parse_redis_url(url),
            client_name=self.client_name,
            command_timeout=COMMAND_TIMEOUT_SECS,
            tail_timeout=tail_block_ms / 1000 + 2,
        )
        self.name = self._connector.kind
        self._tails: list[TailReader] = []
        self._append: Any = None
        self._position: Any = None
        self._restart: Any = None
        self._watcher: asyncio.Task[None] | None = None
        self._failures = 0  # primary switches and failed commands (readers count their own)

    @property
    def redis(self) -> Any:
        """The command client (redis.asyncio.Redis, or RedisCluster for a cluster)."""
        if self._connector.client is None:
            raise RuntimeError("RedisEventLog used before connect()")
        return self._connector.client

    def keys(self, log: str) -> tuple[str, str]:
        base = self._connector.key_base(self._prefix, log)
        return base + ":s", base + ":m"

    async def connect(self) -> None:
        await self._connector.connect()
        self._append = self.redis.register_script(_APPEND)
        self._position = self.redis.register_script(_POSITION)
        self._restart = self.redis.register_script(_RESTART)
        watch = self._connector.watch(self.reconnect_tails)
        if watch is not None:
            self._watcher = asyncio.ensure_future(watch)

    def reconnect_tails(self) -> None:
        """Abandon every tail read on the wire and read again, from the same positions, on new connections
        (the Sentinel watcher calls this when the primary moved)."""
        self._failures += 1
        for reader in self._tails:
            reader.interrupt()

    async def _wake(self, key: bytes, wake_id: int) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"w": b"1"}, id=f"{wake_id}-0", maxlen=1, approximate=False)
            pipe.expire(key, WAKE_TTL_SECS)
            await pipe.execute()

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        for reader in self._tails:
            await reader.aclose()
        # Bounded: a connection left mid-command by a cancelled task must not hang a shutdown.
        await self._connector.aclose()

    async def ping(self) -> None:
        """No ward's tail has waited on an unanswered read past the stall bound, and the server answers.

        The stall is checked first, without a round trip: it names the wards whose boards stopped updating
        even when the ping itself would hang on the same dead server."""
        stuck = self.stalled_wards()
        if stuck:
            shown = ", ".join(stuck[:5]) + (f" and {len(stuck) - 5} more" if len(stuck) > 5 else "")
            raise EventLogUnavailable(
                f"{self.name}: the live feed of ward(s) {shown} has not answered for over {self._stall_secs:g}s"
            )
        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            self._failures += 1
            raise EventLogUnavailable(f"{self.name} does not answer: {exc}") from exc

    @property
    def reconnects(self) -> int:
        return self._failures + sum(reader.reconnects for reader in self._tails)

    def stalled_wards(self) -> list[str]:
        """Wards whose tail read is stuck (unanswered past the stall bound), by ward id, sorted."""
        now = time.monotonic()
        wards: set[str] = set()
        for reader in self._tails:
            if reader.stalled_for(now) > self._stall_secs:
                wards.update(_ward_of(key) for key in reader.keys())
        return sorted(wards)

    async def restart(self, log: str, epoch: str, top: int) -> Position:
        stream, meta = self.keys(log)
        try:
            new_epoch, new_top = await self._restart(
                keys=[stream, meta], args=[epoch, top, uuid.uuid4().hex, KEY_TTL_SECS]
            )
        except (RedisError, OSError) as exc:
            self._failures += 1
            raise EventLogUnavailable(f"redis restart failed: {exc}") from exc
        return Position(_text(new_epoch), int(new_top))

    async def append(self, log: str, seq: int, payload: bytes) -> AppendResult:
        stream, meta = self.keys(log)
        try:
            epoch, status, top = await self._append(
                keys=[stream, meta], args=[seq, payload, self._maxlen, uuid.uuid4().hex, KEY_TTL_SECS]
            )
        except (RedisError, OSError) as exc:
            self._failures += 1
            raise EventLogUnavailable(f"redis append failed: {exc}") from exc
        return AppendResult(AppendStatus(_text(status)), _text(epoch), int(top))

    async def position(self, log: str) -> Position:
        _, meta = self.keys(log)
        try:
            epoch, top = await self._position(keys=[meta], args=[uuid.uuid4().hex, KEY_TTL_SECS])
        except (RedisError, OSError) as exc:
            self._failures += 1
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
            self._failures += 1
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
        if self._append is None:
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
        route = self._connector.route(key)
        for reader in self._tails:
            if reader.route == route and reader.streams < self._streams_per_connection:
                return reader
        wake_key = self._connector.wake_key(self._prefix, route, len(self._tails))

        async def connect(after_error: bool) -> AbstractConnection:
            return await self._connector.tail_connection(route, after_error)

        reader = TailReader(connect, self._wake, wake_key, block_ms=self._block_ms, count=TAIL_COUNT, route=route)
        self._tails.append(reader)
        return reader


def _ward_of(key: bytes) -> str:
    """The ward id in a stream key (`...{ward:uid}:s`, or `...{tag}:ward:uid:s` on a cluster)."""
    text = key.decode(errors="replace")
    inner = text[text.index("{") + 1 : text.index("}")]
    if ":" not in inner:  # a cluster bucket tag: the ward follows it
        inner = text[text.index("}") + 2 :]
    return inner.split(":", 1)[0]
