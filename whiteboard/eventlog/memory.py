"""In-process event log: the embedded default for a single instance with nothing else installed.

Each ward's log is a capped deque with its own epoch, created fresh in every process: after a
restart, clients holding the old epoch receive a snapshot instead of a replay, which is honest
because the history did not survive.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator

from whiteboard.eventlog.base import AppendResult, AppendStatus, Entry, EventLog, Position


class _Stream:
    __slots__ = ("entries", "epoch", "top", "wakeup")

    def __init__(self, maxlen: int) -> None:
        self.epoch = uuid.uuid4().hex
        self.entries: deque[Entry] = deque(maxlen=maxlen)
        self.top = 0
        self.wakeup = asyncio.Event()


class MemoryEventLog(EventLog):
    name = "in-process event log"

    def __init__(self, *, maxlen: int = 10_000) -> None:
        self._maxlen = maxlen
        self._streams: dict[str, _Stream] = {}

    def _stream(self, log: str) -> _Stream:
        stream = self._streams.get(log)
        if stream is None:
            stream = self._streams[log] = _Stream(self._maxlen)
        return stream

    async def connect(self) -> None:
        return None

    async def aclose(self) -> None:
        for stream in self._streams.values():
            stream.wakeup.set()

    async def ping(self) -> None:
        return None

    async def append(self, log: str, seq: int, payload: bytes) -> AppendResult:
        stream = self._stream(log)
        if stream.top and seq <= stream.top:
            return AppendResult(AppendStatus.DUPLICATE, stream.epoch, stream.top)
        if stream.top and seq != stream.top + 1:
            return AppendResult(AppendStatus.GAP, stream.epoch, stream.top)
        stream.entries.append(Entry(seq, stream.epoch, payload))
        stream.top = seq
        # Wake every tail, then arm a new event for the next append.
        stream.wakeup.set()
        stream.wakeup = asyncio.Event()
        return AppendResult(AppendStatus.APPENDED, stream.epoch, seq)

    async def position(self, log: str) -> Position:
        stream = self._stream(log)
        return Position(stream.epoch, stream.top)

    async def restart(self, log: str, epoch: str, top: int) -> Position:
        stream = self._stream(log)
        if stream.epoch == epoch and stream.top == top:
            fresh = self._streams[log] = _Stream(self._maxlen)
            stream.wakeup.set()  # tails of the old epoch read on in the new one (and see its epoch)
            stream = fresh
        return Position(stream.epoch, stream.top)

    async def read(self, log: str, after: int, limit: int) -> tuple[str, list[Entry]]:
        stream = self._stream(log)
        out: list[Entry] = []
        if stream.entries and after < stream.top:
            # Entries are contiguous, so the first wanted one sits at a computable index.
            first = stream.entries[0].seq
            start = max(0, after + 1 - first)
            for i in range(start, min(len(stream.entries), start + limit)):
                out.append(stream.entries[i])
        return stream.epoch, out

    async def tail(self, log: str, after: int) -> AsyncIterator[Entry]:
        last = after
        while True:
            wakeup = self._stream(log).wakeup  # looked up each time: `restart` replaces the stream
            epoch, batch = await self.read(log, last, 1000)
            for entry in batch:
                yield entry
                last = entry.seq
            if not batch:
                await wakeup.wait()
