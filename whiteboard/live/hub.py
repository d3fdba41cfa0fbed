"""Per-process fan-out: one event-log reader per ward, one bounded queue per connection.

Each ward this instance serves has a `WardChannel`: its in-memory view and its subscribers. One task
per ward tails the log, applies each event to the view, encodes it once per audience and offers the
frame to every subscriber's queue without awaiting anyone, so a slow phone never slows a board. A
subscriber whose queue is full is closed (1013) and resumes later by offset (websockets'
broadcast.rst; Home Assistant's websocket_api).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from whiteboard.domain import offsets, redact
from whiteboard.domain.board import WardView
from whiteboard.domain.clock import utc_now
from whiteboard.domain.redact import Audience
from whiteboard.errors import NotFound
from whiteboard.eventlog import Entry, EventLog, EventLogUnavailable
from whiteboard.metrics import Metrics
from whiteboard.store import Store

log = logging.getLogger("whiteboard.hub")

CLOSE_SLOW_CLIENT = 1013  # "try again later": resume by offset when ready


@dataclass(eq=False)
class Subscriber:
    """One WebSocket's place in a ward: its audience and its bounded queue of (seq, frame, is_snapshot)."""

    audience: Audience
    role: str
    queue: asyncio.Queue[tuple[int, str, bool]]
    on_overflow: Callable[[], None]
    overflowed: bool = False

    def offer(self, seq: int, frame: str, snapshot: bool = False) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait((seq, frame, snapshot))
        except asyncio.QueueFull:
            self.overflowed = True
            self.on_overflow()


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
    def __init__(self, store: Store, eventlog: EventLog, metrics: Metrics, *, queue_size: int) -> None:
        self._store = store
        self._log = eventlog
        self._metrics = metrics
        self._queue_size = queue_size
        self._channels: dict[str, WardChannel] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._closed = False

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

    def subscribe(self, ch: WardChannel, role: str, on_overflow: Callable[[], None]) -> Subscriber:
        sub = Subscriber(ch.view.audience_for(role), role, asyncio.Queue(self._queue_size), on_overflow)
        ch.subscribers.add(sub)
        self._metrics.ws_connections.labels(ch.view.id, role).inc()
        return sub

    def unsubscribe(self, ch: WardChannel, sub: Subscriber) -> None:
        if sub in ch.subscribers:
            ch.subscribers.discard(sub)
            self._metrics.ws_connections.labels(ch.view.id, sub.role).dec()

    async def aclose(self) -> None:
        self._closed = True
        readers = [ch.reader for ch in self._channels.values() if ch.reader is not None]
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

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
        frames: dict[str, str] = {}
        for sub in tuple(ch.subscribers):
            if profile_changed and sub.role == "display":
                # The public field set changed: displays get a fresh snapshot in their new audience.
                sub.audience = ch.view.audience_for("display")
                key = "snapshot:" + sub.audience.key
                frame = frames.get(key)
                if frame is None:
                    frame = frames[key] = ch.view.snapshot_frame(sub.audience)
                sub.offer(entry.seq, frame, snapshot=True)
                continue
            frame = frames.get(sub.audience.key)
            if frame is None:
                frame = frames[sub.audience.key] = event_frame(ch.view.epoch, entry.seq, event, sub.audience)
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
        frames: dict[str, str] = {}
        for sub in tuple(ch.subscribers):
            frame = frames.get(sub.audience.key)
            if frame is None:
                frame = frames[sub.audience.key] = ch.view.snapshot_frame(sub.audience, recovered=False)
            sub.offer(ch.view.seq, frame, snapshot=True)
        ch.advanced.set()
        ch.advanced = asyncio.Event()


def event_frame(epoch: str, seq: int, event: dict[str, object], audience: Audience) -> str:
    return orjson.dumps(
        {"type": "event", "epoch": epoch, "offset": offsets.format(seq), "event": redact.event(event, audience)}
    ).decode()
