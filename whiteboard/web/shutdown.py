"""Graceful shutdown: on SIGTERM, drain this instance so a rolling restart loses nothing and nobody notices.

uvicorn's own shutdown closes every WebSocket at once (1012) and then gives in-flight requests a few seconds.
Thousands of wall boards and phones reconnecting in the same instant is a storm for the instances left, so
before uvicorn's shutdown starts, `GracefulServer` drains:

1. `/readyz` answers 503 "shutting down" and new WebSocket upgrades are refused (503): a proxy or Kubernetes
   stops sending this instance anything new;
2. the listening sockets close: new connections go to another instance (connections already open keep
   being served, so a write already sent is answered);
3. WebSockets (boards, phones, FHIR Subscriptions: every `held.Held`) are closed with 1012 ("restarting:
   resume by offset") in small batches spread over at most
   `shutdown_drain_secs`; clients reconnect with jitter, to another instance, and resume from their offset;
4. the write path settles: every write taken is committed, answered and handed to the event log.

Then uvicorn's shutdown runs as usual (idle connections closed, requests still running finished, the
lifespan's shutdown closing the write path, hub, event log and store) and the process exits 0. A second
SIGTERM or Ctrl-C skips what is left of the drain; a third Ctrl-C is uvicorn's force quit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

import uvicorn

from whiteboard.state import State
from whiteboard.web.held import held_connections
from whiteboard.web.ws import CLOSE_RESTART

log = logging.getLogger("whiteboard.shutdown")

BATCH_INTERVAL_SECS = 0.1
MIN_BATCH = 20  # a few dozen reconnects at once are nothing; below this the drain does not wait between batches
SETTLE_SECS = 10.0  # in-flight writes: each is bounded by the database's statement timeout anyway
RESTART_REASON = "server restarting: reconnect and resume from your last offset"


def batch_size(connections: int, drain_secs: float) -> int:
    """Closing `connections` in batches every BATCH_INTERVAL_SECS, done within `drain_secs`."""
    steps = max(1, math.floor(drain_secs / BATCH_INTERVAL_SECS))
    return max(MIN_BATCH, math.ceil(connections / steps))


async def close_websockets(state: State, drain_secs: float) -> int:
    """Close every ward WebSocket with 1012, a batch per interval; returns how many were closed."""
    todo = held_connections(state)  # board and FHIR Subscription sockets alike
    size = batch_size(len(todo), drain_secs) if drain_secs > 0 else max(1, len(todo))
    log.info("shutdown: closing %d WebSocket(s) with 1012, %d every %.1f s", len(todo), size, BATCH_INTERVAL_SECS)
    closed = 0
    for start in range(0, len(todo), size):
        if start:
            await asyncio.sleep(BATCH_INTERVAL_SECS)
        for held in todo[start : start + size]:
            if held.end(CLOSE_RESTART, RESTART_REASON):
                closed += 1
    return closed


async def drain(state: State, servers: list[asyncio.Server]) -> None:
    """Steps 1-4 of the module's docstring."""
    started = time.monotonic()
    state.draining = True
    for server in servers:
        server.close()  # stop listening; open connections are not touched
    log.info("shutdown: draining (readyz 503, not accepting new connections)")
    await close_websockets(state, state.settings.shutdown_drain_secs)
    if not await state.ingest.settle(SETTLE_SECS):
        log.warning("shutdown: writes still in progress after %.0f s; going on", SETTLE_SECS)
    # Handlers end their connections on their own; give the last batch's closing handshakes a moment.
    deadline = time.monotonic() + 2.0
    while held_connections(state) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    log.info("shutdown: drained in %.1f s", time.monotonic() - started)


class GracefulServer(uvicorn.Server):
    """uvicorn's server, draining (`drain`) on the first SIGTERM/SIGINT before its own shutdown, exiting 0."""

    def __init__(self, config: uvicorn.Config, state: State) -> None:
        super().__init__(config)
        self.wb = state
        self.loop: asyncio.AbstractEventLoop | None = None
        self.drainer: asyncio.Task[None] | None = None

    async def main_loop(self) -> None:
        self.loop = asyncio.get_running_loop()
        await super().main_loop()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.loop is None or self.drainer is not None or self.should_exit:
            super().handle_exit(sig, frame)  # not serving yet, or a second signal: uvicorn's own behaviour
            return
        self.wb.draining = True  # readiness says so from the next request on, before the drain task even starts
        log.info("shutdown: %s received; draining (send it again to skip the drain)", signal.Signals(sig).name)
        self.loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self.drainer is None:
            self.drainer = asyncio.create_task(self._drain(), name="shutdown-drain")

    async def _drain(self) -> None:
        try:
            await drain(self.wb, list(self.servers))
        except Exception:
            log.exception("shutdown: the drain failed; shutting down anyway")
        finally:
            self.should_exit = True

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """As uvicorn's, but without raising the signal again once shut down: a drained instance exits 0."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
