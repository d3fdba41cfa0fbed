"""A small fault-injecting TCP proxy (asyncio) between a server and Redis or PostgreSQL, toggled at run time.

Modes, set with `set_mode` from any thread:
- `pass`: forward both ways.
- `latency`: forward, each chunk held back `latency_secs` (in order) — a slow network.
- `blackhole`: accept connections but forward nothing either way, and drop what arrives — a half-open
  network: the peer's TCP sees no error, only silence, so only its own timeouts can save it.
- `reset`: every connection, open or new, is closed with a TCP RST (SO_LINGER 0) — a middlebox dropping
  the flow, or the far side restarted.

Leaving `blackhole` resets the connections it swallowed (their byte streams have holes, as after a real
outage the far side's TCP would answer them with RST), so nothing is ever silently corrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

MODES = ("pass", "latency", "blackhole", "reset")
CHUNK = 65536


def reset_writer(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: SO_LINGER on, timeout 0."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    swallowed: bool = False  # saw blackhole: must not carry on as if nothing was lost

    def reset(self) -> None:
        for w in (self.client, self.upstream):
            if w is not None:
                reset_writer(w)
        for t in self.tasks:
            t.cancel()


class FaultProxy:
    """Listens on 127.0.0.1:`port` and forwards to `target_port`; `mode` and `latency_secs` change live."""

    def __init__(self, target_port: int, port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = port
        self.mode = "pass"
        self.latency_secs = 0.2
        self.links: set[_Link] = set()
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def url_for(self, scheme_and_rest: str) -> str:
        """`redis://127.0.0.1:{port}/0`-style URL through the proxy."""
        return scheme_and_rest.format(port=self.port)

    async def start(self) -> FaultProxy:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        return self

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in tuple(self.links):
            link.reset()
        self.links.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def set_mode(self, mode: str, latency_secs: float | None = None) -> None:
        """Thread-safe: the change happens on the proxy's loop."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        assert self._loop is not None, "start() first"
        if latency_secs is not None:
            self.latency_secs = latency_secs
        self._loop.call_soon_threadsafe(self._apply, mode)

    def _apply(self, mode: str) -> None:
        leaving_blackhole = self.mode == "blackhole" and mode != "blackhole"
        self.mode = mode
        for link in tuple(self.links):
            if mode == "reset" or (leaving_blackhole and link.swallowed):
                link.reset()
                self.links.discard(link)
            elif mode == "blackhole":
                link.swallowed = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "reset":
            reset_writer(writer)
            return
        link = _Link(writer, swallowed=self.mode == "blackhole")
        self.links.add(link)
        try:
            if self.mode == "blackhole":
                # Accept, never connect upstream: the client's connect succeeds, then silence.
                while self.mode == "blackhole" and await reader.read(CHUNK):
                    pass
                if link.swallowed:
                    link.reset()
                    return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except (OSError, asyncio.CancelledError):
            link.reset()
            self.links.discard(link)
            return
        link.upstream = up_writer
        link.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, link)),
            asyncio.create_task(self._pump(up_reader, writer, link)),
        ]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*link.tasks, return_exceptions=True)
        self.links.discard(link)
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: _Link) -> None:
        try:
            while True:
                data = await src.read(CHUNK)
                if not data:
                    with contextlib.suppress(OSError):
                        if dst.can_write_eof():
                            dst.write_eof()
                    return
                if self.mode == "blackhole":
                    link.swallowed = True
                    continue  # dropped on the floor
                if self.mode == "latency":
                    await asyncio.sleep(self.latency_secs)
                dst.write(data)
                await dst.drain()
        except (OSError, ConnectionError):
            link.reset()
