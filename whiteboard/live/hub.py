"""Per-process fan-out: one event-log reader per ward; per connection, one write of shared bytes.

Each ward this instance serves has a `WardChannel`: its in-memory view and its subscribers. One task
per ward tails the log, applies each event to the view, encodes it once per audience (an `OutFrame`) and
offers that same frame to every subscriber without awaiting anyone, so a slow phone never slows a board.

A subscriber starts in a bounded queue (while its snapshot or replay is sent) and then goes live: with a
`direct` writer (the WebSocket's transport, `web/protocols.py`) each frame is one `write` of bytes encoded
once for all its audience; without one, a task drains the queue. A subscriber whose queue is full, or whose
unsent bytes pass the limit, is closed (1013) and resumes later by offset (websockets' broadcast.rst; Home
Assistant's websocket_api). One ticker per hub sends heartbeats to idle subscribers: no timer per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from whiteboard.domain import offsets, redact
from whiteboard.domain.board import WardView
from whiteboard.domain.clock import iso, utc_now
from whiteboard.domain.redact import Audience
from whiteboard.errors import NotFound
from whiteboard.eventlog import Entry, EventLog, EventLogUnavailable
from whiteboard.metrics import Metrics
from whiteboard.store import Store

log = logging.getLogger("whiteboard.hub")

CLOSE_SLOW_CLIENT = 1013  # "try again later": resume by offset when ready


class OutFrame:
    """One frame's JSON text, shared by every subscriber of an audience; `wire` caches its WebSocket encoding."""

    __slots__ = ("data", "wire")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.wire: bytes | None = None

    @classmethod
    def of(cls, text: str) -> OutFrame:
        return cls(text.encode())

    @property
    def text(self) -> str:
        return self.data.decode()


DirectWriter = Callable[[OutFrame], bool]  # writes the frame now; False when the client is too far behind


class Subscriber:
    """One WebSocket's place in a ward: its audience, what it has been sent (`floor`), and where frames go."""

    __slots__ = ("audience", "role", "queue", "on_overflow", "overflowed", "floor", "direct", "live", "last_sent",
                 "owner")  # fmt: skip

    def __init__(
        self, audience: Audience, role: str, queue_size: int, on_overflow: Callable[[], None], owner: object = None
    ) -> None:
        self.audience = audience
        self.role = role
        # (seq, frame, always): `always` frames (snapshots, heartbeats) are sent whatever the floor.
        self.queue: asyncio.Queue[tuple[int, OutFrame, bool]] | None = asyncio.Queue(queue_size)
        self.on_overflow = on_overflow
        self.overflowed = False
        self.floor = 0  # highest seq the client has been given
        self.direct: DirectWriter | None = None
        self.live = False  # its snapshot or replay is out: heartbeats may go to it
        self.last_sent = time.monotonic()
        self.owner = owner  # the connection, for whoever manages connections (revocation)

    def offer(self, seq: int, frame: OutFrame, snapshot: bool = False) -> None:
        if self.overflowed:
            return
        direct = self.direct
        if direct is None:
            assert self.queue is not None
            try:
                self.queue.put_nowait((seq, frame, snapshot))
            except asyncio.QueueFull:
                self._overflow()
            return
        if not snapshot and seq <= self.floor:
            return  # already in the snapshot or replay this client got
        if seq >= 0:  # control frames (heartbeats, pongs) carry -1 and move nothing
            self.floor = seq
        self.last_sent = time.monotonic()
        if not direct(frame):
            self._overflow()

    def go_live(self, floor: int, direct: DirectWriter | None) -> None:
        """The first frames are out, up to `floor`: from now on frames go straight to `direct` (if given)."""
        self.floor = floor
        self.live = True
        if direct is None:
            return  # a task drains the queue (`take`)
        queued = self.queue
        self.queue = None  # nothing is queued any more: one write per frame
        self.direct = direct
        while queued is not None and not queued.empty():
            self.offer(*queued.get_nowait())

    async def take(self) -> OutFrame | None:
        """For a connection without a direct writer: the next frame to send (None: skip it)."""
        assert self.queue is not None
        seq, frame, always = await self.queue.get()
        if not always and seq <= self.floor:
            return None
        if seq >= 0:
            self.floor = seq
        self.last_sent = time.monotonic()
        return frame

    def _overflow(self) -> None:
        self.overflowed = True
        self.on_overflow()

    def release(self) -> None:
        """Gone from its ward: take nothing more, and let go of its connection (`owner`, `on_overflow` and `direct`
        refer to it), so the pair is freed by reference counting rather than left as a cycle (cli/heap.py)."""
        self.overflowed = True
        self.owner = self.direct = self.queue = None
        self.on_overflow = _ignore


def _ignore() -> None:
    """The overflow handler of a released subscriber."""


@dataclass(eq=False)
class WardChannel:
    view: WardView
    subscribers: set[Subscriber] = field(default_factory=set)
    reader: asyncio.Task[None] | None = None
    advanced: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, seq: int, timeout: float) -> bool:
        """Wait until the view has reached `seq` (read-your-writes for the instance that wrote it)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.view.seq < seq:
                    ev = self.advanced
                    await ev.wait()
        return self.view.seq >= seq


class Hub:
    def __init__(
        self, store: Store, eventlog: EventLog, metrics: Metrics, *, queue_size: int, heartbeat_secs: float = 15.0
    ) -> None:
        self._store = store
        self._log = eventlog
        self._metrics = metrics
        self._queue_size = queue_size
        self._channels: dict[str, WardChannel] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._closed = False
        self._heartbeat_secs = heartbeat_secs
        self._heartbeats: asyncio.Task[None] | None = None

    @property
    def channels(self) -> dict[str, WardChannel]:
        return self._channels

    async def channel(self, ward_id: str) -> WardChannel:
        """The ward's channel, loading its view from the database on first use."""
        ch = self._channels.get(ward_id)
        if ch is not None:
            return ch
        lock = self._loading.setdefault(ward_id, asyncio.Lock())
        try:
            async with lock:
                ch = self._channels.get(ward_id)
                if ch is not None:
                    return ch
                state = await self._store.load_ward(ward_id)
                if state is None:
                    raise NotFound(f"there is no ward {ward_id!r}")
                position = await self._log.position(state.log)
                ch = WardChannel(WardView(state, position.epoch))
                ch.reader = asyncio.create_task(self._read(ch), name=f"ward-reader:{ward_id}")
                self._channels[ward_id] = ch
                return ch
        finally:
            # Only needed while loading; unknown ward ids must not accumulate locks.
            if not lock.locked() and self._loading.get(ward_id) is lock:
                del self._loading[ward_id]

    def subscribe(
        self, ch: WardChannel, role: str, on_overflow: Callable[[], None], owner: object = None
    ) -> Subscriber:
        sub = Subscriber(ch.view.audience_for(role), role, self._queue_size, on_overflow, owner)
        ch.subscribers.add(sub)
        if self._heartbeats is None and not self._closed:
            self._heartbeats = asyncio.create_task(self._beat(), name="hub-heartbeats")
        self._metrics.ws_connections.labels(ch.view.id, role).inc()
        return sub

    def unsubscribe(self, ch: WardChannel, sub: Subscriber) -> None:
        if sub in ch.subscribers:
            ch.subscribers.discard(sub)
            self._metrics.ws_connections.labels(ch.view.id, sub.role).dec()
        sub.release()

    async def aclose(self) -> None:
        self._closed = True
        readers = [ch.reader for ch in self._channels.values() if ch.reader is not None]
        if self._heartbeats is not None:
            readers.append(self._heartbeats)
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- heartbeats: one ticker for every connection ---

    async def _beat(self) -> None:
        """Every live subscriber gets a frame at least every `heartbeat_secs` (the contract): a heartbeat when
        nothing else went out. A tick every quarter period keeps the gap within [0.75, 1] × the period."""
        every = self._heartbeat_secs
        tick = every / 4
        while True:
            await asyncio.sleep(tick)
            due = time.monotonic() - every + tick
            at = iso(utc_now())
            beats: dict[int, OutFrame] = {}
            for ch in tuple(self._channels.values()):
                for sub in tuple(ch.subscribers):
                    if sub.live and sub.last_sent <= due:
                        frame = beats.get(sub.floor)
                        if frame is None:
                            frame = beats[sub.floor] = heartbeat_frame(sub.floor, at)
                        sub.offer(-1, frame, snapshot=True)

    # --- the reader: log → view → subscribers ---

    async def _read(self, ch: WardChannel) -> None:
        backoff = 0.1
        while not self._closed:
            try:
                async for entry in self._log.tail(ch.view.log, ch.view.seq):
                    backoff = 0.1
                    if entry.seq <= ch.view.seq and entry.epoch == ch.view.epoch:
                        continue
                    if entry.epoch != ch.view.epoch or entry.seq != ch.view.seq + 1:
                        reason = "epoch" if entry.epoch != ch.view.epoch else "gap"
                        await self._resync(ch, reason)
                        break  # tail again from the reloaded position
                    self._deliver(ch, entry)
            except asyncio.CancelledError:
                raise
            except EventLogUnavailable as exc:
                self._metrics.backend_up.labels("eventlog").set(0)
                log.warning("ward %s: event log unavailable, retrying in %.1fs: %s", ch.view.id, backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:
                log.exception("ward %s: reader failed; reloading the view", ch.view.id)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                with contextlib.suppress(Exception):
                    await self._resync(ch, "error")

    def _deliver(self, ch: WardChannel, entry: Entry) -> None:
        event = orjson.loads(entry.payload)
        ch.view.apply(entry.seq, event)
        self._metrics.events.labels(ch.view.id).inc()
        profile_changed = event.get("kind") == "ward.display_profile"
        frames: dict[str, OutFrame] = {}
        for sub in tuple(ch.subscribers):
            if profile_changed and sub.role == "display":
                # The public field set changed: displays get a fresh snapshot in their new audience.
                sub.audience = ch.view.audience_for("display")
                key = "snapshot:" + sub.audience.key
                frame = frames.get(key)
                if frame is None:
                    frame = frames[key] = OutFrame.of(ch.view.snapshot_frame(sub.audience))
                sub.offer(entry.seq, frame, snapshot=True)
                continue
            frame = frames.get(sub.audience.key)
            if frame is None:
                frame = frames[sub.audience.key] = OutFrame(event_bytes(ch.view.epoch, entry.seq, event, sub.audience))
            sub.offer(entry.seq, frame)
        self._metrics.frames_sent.inc(len(ch.subscribers))
        ch.advanced.set()
        ch.advanced = asyncio.Event()
        at = event.get("at")
        if isinstance(at, str):
            with contextlib.suppress(ValueError):
                age = (utc_now() - dt.datetime.fromisoformat(at)).total_seconds()
                self._metrics.fanout_seconds.observe(max(age, 0.0))
                self._metrics.log_lag.set(max(age, 0.0))

    async def _resync(self, ch: WardChannel, reason: str) -> None:
        """The log lost history under us: reload from the database and give every watcher a fresh snapshot."""
        self._metrics.resyncs.labels(reason).inc()
        state = await self._store.load_ward(ch.view.id)
        if state is None:
            return
        position = await self._log.position(state.log)
        log.warning("ward %s: %s in the event log; view reloaded at %s", ch.view.id, reason, state.seq)
        ch.view.reset(state, position.epoch)
        frames: dict[str, OutFrame] = {}
        for sub in tuple(ch.subscribers):
            frame = frames.get(sub.audience.key)
            if frame is None:
                frame = frames[sub.audience.key] = OutFrame.of(ch.view.snapshot_frame(sub.audience, recovered=False))
            sub.offer(ch.view.seq, frame, snapshot=True)
        ch.advanced.set()
        ch.advanced = asyncio.Event()


def event_bytes(epoch: str, seq: int, event: dict[str, object], audience: Audience) -> bytes:
    return orjson.dumps(
        {"type": "event", "epoch": epoch, "offset": offsets.format(seq), "event": redact.event(event, audience)}
    )


def event_frame(epoch: str, seq: int, event: dict[str, object], audience: Audience) -> str:
    return event_bytes(epoch, seq, event, audience).decode()


def heartbeat_frame(floor: int, at: str) -> OutFrame:
    return OutFrame(orjson.dumps({"type": "heartbeat", "offset": offsets.format(floor), "at": at}))
