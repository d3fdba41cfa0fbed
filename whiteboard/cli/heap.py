"""The serving process's garbage-collector policy: long-lived objects (open connections, ward views) are frozen
out of the collector's way; a full collection over them runs at a bounded rate and only when the heap grew.

Why: CPython's full (generation 2) collection visits every tracked object. With 5,000 WebSockets open (~70
tracked objects each: coroutine frames, the parser's generators, transports, timers) that was 100-235 ms with the
event loop stopped, felt at once by every connection (docs/PERFORMANCE.md, issue 9). Open connections do not need
scanning: they are alive, and when one closes, reference counting frees its objects whether they are frozen or
not. What freezing costs is cyclic garbage among frozen objects (a closed connection whose objects refer to each
other): the collector no longer sees it. So:

- every `freeze_secs`, one collection of the two young generations (a few thousand objects at most: cheap),
  then `gc.freeze()` on everything left. Young garbage is collected first, so it is not frozen; the oldest
  generation is left unscanned, as that is the costly part (a full collection over the unfrozen survivors of a
  burst of new connections took 415 ms), so what is left there is frozen as it is, garbage cycles included,
  for the full collection below. Frequent ticks keep the unfrozen heap small between them, so CPython's own
  full collections, which still run, visit little.
- at most every `full_secs`, and only when the frozen heap has grown by more than a quarter since the last full
  collection (CPython's own rule for its oldest generation, on real sizes), the frozen objects are returned to
  the collector for one full collection and frozen again: that reclaims the cycles closed connections left
  behind, and bounds them to the growth a quarter allows, while a steady heap is never rescanned.

CPython's own thresholds stay as they are: its automatic collections go on, but see only unfrozen objects.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import uvicorn

from whiteboard.state import State
from whiteboard.web.shutdown import GracefulServer

log = logging.getLogger("whiteboard.heap")

FULL_GROWTH: Final = 0.25  # CPython's: a full collection once the long-lived objects grew by a quarter


@dataclass(frozen=True)
class Tick:
    """What one tick did: objects frozen after it, and whether it ran a full collection (how long it took)."""

    frozen: int
    full: bool
    full_secs: float


class Collector:
    """The policy, with the clock passed in so tests can drive it without waiting."""

    def __init__(self, freeze_secs: float, full_secs: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.freeze_secs = freeze_secs
        self.full_secs = full_secs
        self._clock = clock
        self._checked = clock()  # when a full collection was last run or found not needed
        self._base = gc.get_freeze_count()  # the start-up heap `serve` froze; after a full collection, what it kept
        self._frozen = self._base  # an upper bound: what was frozen since, less nothing (deaths are not counted)
        self._timer: asyncio.TimerHandle | None = None

    def tick(self) -> Tick:
        gc.collect(1)  # the young generations only: bounded by CPython's thresholds, whatever the heap
        # Counting the frozen heap walks all of it (~20 ms per million objects, every tick): count what this
        # freeze adds instead, one second's survivors, and count the frozen heap itself only when that says a
        # full collection may be due.
        self._frozen += len(gc.get_objects(2))
        gc.freeze()
        now = self._clock()
        if now - self._checked < self.full_secs or self._frozen <= self._base * (1 + FULL_GROWTH):
            return Tick(self._frozen, False, 0.0)
        self._checked, frozen = now, gc.get_freeze_count()
        self._frozen = frozen
        if frozen <= self._base * (1 + FULL_GROWTH):
            return Tick(frozen, False, 0.0)  # what was frozen has mostly died since: nothing to reclaim
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        took = time.perf_counter() - started
        self._base = self._frozen = gc.get_freeze_count()
        log.info("full collection over %d frozen objects: %.0f ms, %d kept", frozen, took * 1000, self._base)
        return Tick(self._base, True, took)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tick on `loop` every `freeze_secs` (nothing when 0: CPython's own policy)."""
        if self.freeze_secs <= 0:
            return

        def run() -> None:
            self.tick()
            self._timer = loop.call_later(self.freeze_secs, run)

        self._timer = loop.call_later(self.freeze_secs, run)

    @property
    def scheduled(self) -> bool:
        return self._timer is not None

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Server(GracefulServer):
    """The graceful server (drain on SIGTERM), with the collector ticking on its event loop while it serves."""

    def __init__(self, config: uvicorn.Config, state: State, collector: Collector) -> None:
        super().__init__(config, state)
        self.collector = collector

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.collector.start(asyncio.get_running_loop())
        try:
            await super().serve(sockets)
        finally:
            self.collector.stop()
