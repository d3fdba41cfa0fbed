"""A lean WebSocket subscriber for the fan-out bench: one asyncio protocol per connection, frames parsed by hand.

One asyncio process on one core decodes about 19,000 frames/s with the `websockets` client (frame parsing in
Python, a task and a JSON decode per frame), which is where the 5,000-connection run measured the *client*
(docs/PERFORMANCE.md). This one does the minimum RFC 6455 asks of a client: the upgrade, unmasked server frames
read straight off the buffer, masked pongs to the server's pings; per text frame it finds the marker the writer
put in `notes` with a byte search and takes the arrival time of the read that completed the frame. `--client
websockets` keeps the library client as a cross-check.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

MARKER = b'"notes":"'
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask, RFC 6455 5.3); only for short control frames here."""
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + body


class Subscriber(asyncio.Protocol):
    def __init__(self, on_marker: Callable[[str, float], None]) -> None:
        self.on_marker = on_marker
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.upgraded = False
        self.first: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # the snapshot arrived
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.first.done():
            self.first.set_exception(ConnectionError(f"connection lost before the first frame: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[: self.buf.find(b"\r\n")])
            if b" 101 " not in status + b" ":
                self.first.set_exception(ConnectionError(f"upgrade refused: {status.decode(errors='replace')}"))
                assert self.transport is not None
                self.transport.close()
                return
            del self.buf[: end + 4]
            self.upgraded = True
        self._frames(now)

    def _frames(self, now: float) -> None:
        buf = self.buf
        pos = 0
        while len(buf) - pos >= 2:
            opcode, n = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if len(buf) - pos < head + n:
                break
            start, end = pos + head, pos + head + n
            pos = end
            if opcode == OP_TEXT:
                if not self.first.done():
                    self.first.set_result(None)  # the snapshot (or, for the bare server, its hello)
                    continue
                at = buf.find(MARKER, start, end)
                if at >= 0:
                    at += len(MARKER)
                    self.on_marker(buf[at : buf.index(b'"', at, end)].decode(), now)
            elif opcode == OP_PING and self.transport is not None:
                self.transport.write(masked(OP_PONG, bytes(buf[start:end])))
            elif opcode == OP_CLOSE and self.transport is not None:
                self.transport.close()
        del buf[:pos]


async def connect(url: str, path: str, token: str | None, on_marker: Callable[[str, float], None]) -> Subscriber:
    """Open one subscription and wait for its first frame."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: Subscriber(on_marker), parts.hostname or "127.0.0.1", parts.port or 80
    )
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    assert proto.transport is not None
    proto.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await asyncio.wait_for(asyncio.shield(proto.first), 120)
    return proto


class Writer:
    """PATCHes over a few keep-alive HTTP/1.1 connections, written and read by hand.

    httpx costs the client core about a millisecond per request; at 200 writes/s beside 20,000 frames/s that
    alone saturated the clients' core, and the latency measured the client. One request per connection at a
    time; the answer is read by its Content-Length.
    """

    def __init__(self, url: str, token: str, connections: int = 16) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = f"Host: {parts.netloc}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self.size = connections

    async def __aenter__(self) -> Writer:
        for _ in range(self.size):
            self.free.put_nowait(await asyncio.open_connection(self.host, self.port))
        return self

    async def __aexit__(self, *exc: object) -> None:
        while not self.free.empty():
            _, w = self.free.get_nowait()
            w.close()

    async def patch(self, path: str, body: bytes) -> int:
        reader, writer = await self.free.get()
        try:
            writer.write(f"PATCH {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            return int(status_line.split()[1])
        finally:
            self.free.put_nowait((reader, writer))
