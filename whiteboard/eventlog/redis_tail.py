"""One Redis connection tails every ward of an instance: a single `XREAD BLOCK` over all tailed streams.

A blocking XREAD per ward held one connection per ward per instance (2,000 wards, 2,000 connections)
and re-issued a one-key XREAD after every event. Here one task owns one connection and issues
`XREAD BLOCK ms COUNT c STREAMS k1..kn id1..idn wake`, hands each entry to the buffers of that stream's
tails and issues the next read. Each stream is read from the lowest position among its tails; a tail
skips what it already has, so every tail sees its entries once and in order.

A tail added while the read is blocked must not wait for the block to time out: the reader's own
*wake stream* (`{prefix}:wake:<instance>`) is part of every read, and adding a tail appends to it from
the command pool. The read names the wake stream's last id explicitly, so a wake sent before the read
reaches Redis still ends it (no race), and it needs only XADD, which the log needs anyway (CLIENT
UNBLOCK may be refused by a managed Redis's ACL). The command is kept as encoded RESP parts: a read
re-encodes only the ids that moved, not 2n arguments.

Errors: a connection error, a socket timeout, `-UNBLOCKED` (a primary demoted under a blocked
client) or a Cluster redirection gets one immediate reconnect, on a connection made afresh (so to the
primary the topology names now: `redis_connect`); when that fails too, every tail raises EventLogUnavailable to
its consumer (the hub backs off and tails again from its view). A slow consumer's tail stops being
read once it holds HIGH_WATER entries and is read again when drained, so one stuck ward cannot
make the reader buffer without bound.

Liveness: a healthy read answers at least once per block time, entries or not, so `stalled_for` (how
long since the last answer while tails wait) tells a quiet ward from a stuck feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from whiteboard.eventlog.base import Entry, EventLogUnavailable

log = logging.getLogger("whiteboard.eventlog")

HIGH_WATER = 2000  # entries buffered for one tail before its stream is left out of the read
WAKE_TTL_SECS = 3600
FORGET_UNSERVED_SECS = 15.0  # longer than a consumer's retry back-off (the hub's is at most 5 s)


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _id(seq: int) -> bytes:
    return _bulk(b"%d-0" % seq)


def entry_of(entry_id: bytes, fields: Any) -> Entry:
    """An XREAD/XRANGE row as an Entry; `fields` is a flat [name, value, ...] list (RESP2/3) or a dict."""
    if not isinstance(fields, dict):
        fields = dict(zip(fields[::2], fields[1::2], strict=True))
    return Entry(int(entry_id.split(b"-", 1)[0]), fields[b"e"].decode(), fields[b"d"])


class Tail:
    """One consumer's place: what it has been handed, its buffer, and the error that ends it."""

    __slots__ = ("after", "buffer", "error", "paused", "ready", "stream")

    def __init__(self, stream: TailedStream, after: int) -> None:
        self.stream = stream
        self.after = after  # the last seq in (or consumed from) the buffer
        self.buffer: deque[Entry] = deque()
        self.ready = asyncio.Event()
        self.error: Exception | None = None
        self.paused = False


class TailedStream:
    """A stream key some tails follow, read from the lowest position among its unpaused tails."""

    __slots__ = ("index", "key", "key_part", "tails")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.key_part = _bulk(key)
        self.tails: set[Tail] = set()
        self.index = -1  # this stream's id slot in the encoded command; -1 while not in it

    def position(self) -> int | None:
        """Where the next read starts; None when every tail is paused."""
        return min((t.after for t in self.tails if not t.paused), default=None)


class TailReader:
    """The instance's one reader: the connection, the task, the tailed streams."""

    def __init__(
        self,
        connect: Callable[[bool], Awaitable[AbstractConnection]],
        wake: Callable[[bytes, int], Awaitable[None]],
        wake_key: bytes,
        *,
        block_ms: int,
        count: int,
        route: bytes = b"",
    ) -> None:
        self.route = route  # which keys may share this reader's XREAD (one Cluster slot; any, on one server)
        self._make_connection = connect  # async (after_error) -> a new, not yet used connection
        self._send_wake = wake  # async (key, id) -> None: XADD key MAXLEN 1 <id>-0 from the command pool
        self._wake_key = wake_key
        self._block_ms = block_ms
        self._count = count
        self._streams: dict[bytes, TailedStream] = {}
        self._conn: AbstractConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._work = asyncio.Event()
        self._closed = False
        self._parts: list[bytes] = []
        self._dirty = True  # the set of streams in the command changed: re-encode it
        self._reading = False  # a read is on the wire and has not answered
        self._wake_sent = 0  # the wake stream's last id this instance wrote
        self._wake_seen = 0  # ... that the read on the wire already accounts for
        self._wakers: set[asyncio.Task[None]] = set()
        self._answered = time.monotonic()  # when a read last answered (or the reader last had nothing to read)
        self._failed = False  # the last connection failed: the next one is made afresh, topology asked again
        self.reconnects = 0  # connections lost or refused so far
        self._unserved: set[bytes] = set()  # streams whose tails failed since the last answer (their consumers retry)

    def keys(self) -> set[bytes]:
        """The streams this reader serves, or failed to serve since it last answered."""
        return set(self._streams) | self._unserved

    def stalled_for(self, now: float) -> float:
        """Seconds tails have waited on a read that has not answered (0 while idle or answering)."""
        if self._task is None or self._task.done():
            return 0.0
        if not (self._unserved or (self._streams and (self._reading or self._failed))):
            return 0.0  # idle, paused, or between an answer and the next read
        return max(0.0, now - self._answered)

    def interrupt(self) -> None:
        """The primary moved: abandon the read on the wire and read again on a new connection, from the same
        positions (so nothing is lost or doubled). A read blocked on a paused or demoted server would
        otherwise wait for its socket timeout."""
        if self._task is None or self._task.done() or self._closed:
            return
        old = self._task
        old.cancel()
        self._failed = True
        self._task = asyncio.create_task(self._restart_after(old), name="eventlog-tail-reader")

    async def _restart_after(self, old: asyncio.Task[None]) -> None:
        await asyncio.wait({old})  # its end, however it ended; a cancel of this task itself still propagates
        await self._drop_connection()
        self._dirty = True
        await self._run()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    @property
    def streams(self) -> int:
        return len(self._streams)

    def follows(self, key: bytes) -> bool:
        return key in self._streams

    # --- the consumer side ---

    async def tail(self, key: bytes, after: int) -> AsyncGenerator[Entry, None]:
        t = self._add(key, after)
        try:
            while True:
                while t.buffer:
                    yield t.buffer.popleft()
                if t.error is not None:
                    raise t.error
                if t.paused:
                    self._resume(t)
                t.ready.clear()
                await t.ready.wait()
        finally:
            self._remove(t)

    def _add(self, key: bytes, after: int) -> Tail:
        if self._closed:
            raise EventLogUnavailable("the event log is closed")
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = TailedStream(key)
            self._dirty = True
        before = stream.position()
        t = Tail(stream, after)
        stream.tails.add(t)
        if before is None or after < before:
            # The read on the wire (if any) starts too late for this tail: re-encode its id and wake it.
            if stream.index >= 0 and not self._dirty:
                self._parts[stream.index] = _id(after)
            self._changed()
        return t

    def _remove(self, t: Tail) -> None:
        stream = t.stream
        stream.tails.discard(t)
        if not stream.tails and self._streams.get(stream.key) is stream:
            # No wake: an entry that still arrives for it is dropped, and the next read leaves it out.
            del self._streams[stream.key]
            self._dirty = True

    def _resume(self, t: Tail) -> None:
        t.paused = False
        self._dirty = True
        self._changed()

    def _changed(self) -> None:
        """A stream needs reading from an earlier position than the read on the wire knows."""
        self._start()
        self._work.set()
        if self._reading and self._wake_seen == self._wake_sent:
            self._wake_sent += 1
            task = asyncio.create_task(self._wake(self._wake_sent), name="eventlog-tail-wake")
            self._wakers.add(task)
            task.add_done_callback(self._wakers.discard)

    async def _wake(self, wake_id: int) -> None:
        try:
            await self._send_wake(self._wake_key, wake_id)
        except (RedisError, OSError) as exc:
            # The read still ends at its block timeout; a Redis that refuses this fails the read too.
            log.debug("event log: wake not sent (%s)", exc)

    # --- the reader task ---

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="eventlog-tail-reader")

    async def aclose(self) -> None:
        self._closed = True
        tasks = [t for t in (self._task, *self._wakers) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._fail_all(EventLogUnavailable("the event log is closed"))
        await self._drop_connection()

    async def _run(self) -> None:
        failures = 0
        while not self._closed:
            if not self._streams:
                if not self._unserved:
                    self._answered = time.monotonic()
                self._work.clear()
                try:
                    await asyncio.wait_for(self._work.wait(), FORGET_UNSERVED_SECS)
                except TimeoutError:  # nobody tails those wards any more: nothing waits on this reader
                    self._unserved.clear()
                    self._failed = False
                continue
            try:
                if self._conn is None:
                    self._conn = await self._make_connection(self._failed)
                    self._failed = False
                command = self._command()
                if command is None:  # every tail is paused: wait for one to drain
                    self._work.clear()
                    await self._work.wait()
                    continue
                self._reading = True
                try:
                    await self._conn.send_packed_command(command, check_health=False)
                    reply = await self._conn.read_response()
                finally:
                    self._reading = False
                failures = 0
                self._answered = time.monotonic()
                self._unserved.clear()
            except (RedisError, OSError) as exc:
                failures += 1
                self.reconnects += 1
                self._failed = True
                await self._drop_connection()
                if failures == 1 and _reconnect_may_help(exc):
                    log.info("event log reader: %s; reconnecting", exc)
                    continue
                self._fail_all(EventLogUnavailable(f"redis tail failed: {exc}"))
                await asyncio.sleep(min(0.05 * failures, 1.0))
                continue
            except Exception as exc:  # a bug must not leave every tail waiting for ever
                log.exception("event log reader failed")
                self._fail_all(EventLogUnavailable(f"redis tail failed: {exc!r}"))
                await asyncio.sleep(0.1)
                continue
            self._dispatch(reply)

    def _command(self) -> bytes | None:
        """XREAD BLOCK ms COUNT c STREAMS keys... wake ids... wake-id, from the cached parts."""
        if self._dirty:
            self._dirty = False
            read: list[tuple[TailedStream, int]] = []
            for stream in self._streams.values():
                stream.index = -1
                position = stream.position()
                if position is not None:
                    read.append((stream, position))
            if not read:
                self._parts = []
                return None
            n = len(read) + 1
            head = [b"*%d\r\n" % (2 * n + 6)]
            head += [_bulk(p) for p in (b"XREAD", b"BLOCK", b"%d" % self._block_ms, b"COUNT", b"%d" % self._count)]
            head.append(_bulk(b"STREAMS"))
            first_id = len(head) + n
            for i, (stream, _) in enumerate(read):
                stream.index = first_id + i
            keys = [stream.key_part for stream, _ in read]
            self._parts = [*head, *keys, _bulk(self._wake_key), *(_id(pos) for _, pos in read), b""]
        if not self._parts:
            return None
        self._wake_seen = self._wake_sent
        self._parts[-1] = _id(self._wake_seen)
        return b"".join(self._parts)

    def _dispatch(self, reply: Any) -> None:
        rows_by_key: Iterable[Any] = reply.items() if isinstance(reply, dict) else (reply or ())
        for item in rows_by_key:
            key, rows = item[0], item[1]
            stream = self._streams.get(key)
            if stream is None or not rows:
                continue  # the wake stream, or a stream nobody tails any more
            try:
                entries = [entry_of(entry_id, fields) for entry_id, fields in rows]
            except (KeyError, ValueError, IndexError, TypeError, AttributeError, UnicodeDecodeError) as exc:
                # Not ours (a stranger wrote to the key): this ward's tails fail, the others read on.
                self._fail_stream(stream, EventLogUnavailable(f"malformed entry in {key!r}: {exc!r}"))
                continue
            for t in stream.tails:
                if t.paused:
                    continue
                fresh = False
                for entry in entries:
                    if entry.seq > t.after:
                        t.buffer.append(entry)
                        t.after = entry.seq
                        fresh = True
                if fresh:
                    t.ready.set()
                    if len(t.buffer) >= HIGH_WATER:
                        t.paused = True
                        self._dirty = True
            position = stream.position()
            if position is None:
                self._dirty = True
            elif stream.index >= 0 and not self._dirty:
                self._parts[stream.index] = _id(position)

    def _fail_stream(self, stream: TailedStream, error: Exception) -> None:
        for t in stream.tails:
            t.error = error
            t.ready.set()
        del self._streams[stream.key]
        self._dirty = True

    def _fail_all(self, error: Exception) -> None:
        """Every current tail raises `error` after what it already holds; tails added later start afresh."""
        for stream in self._streams.values():
            for t in stream.tails:
                t.error = error
                t.ready.set()
        if not self._closed:
            self._unserved.update(self._streams)
        self._streams.clear()
        self._dirty = True


_RECONNECT_REPLIES = ("UNBLOCKED", "MOVED", "ASK", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "LOADING")


def _reconnect_may_help(exc: Exception) -> bool:
    if isinstance(exc, ResponseError):
        # A primary demoted to replica unblocks its blocked clients with -UNBLOCKED; a Cluster whose slot
        # moved redirects (MOVED/ASK) or is between masters (CLUSTERDOWN/TRYAGAIN).
        return str(exc).startswith(_RECONNECT_REPLIES)
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError)
