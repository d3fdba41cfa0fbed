"""A lean WebSocket client for reconnect storms: thousands in one process, each a few kilobytes.

Plain asyncio streams: the upgrade request, then the server's frames read header by header (server frames
are never masked), recording each text frame's type, offset, epoch and recovered flag into a `ClientLog`
(no board contents). When the connection ends it resumes with `since`/`epoch` after a jittered pause, as a
board does. It answers pings and sends nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random

from tests.faults.checker import ClientLog
from tests.faults.clients import parse_frame


class LeanClient:
    def __init__(self, host: str, ports: list[int], ward: str, token: str, log: ClientLog) -> None:
        self.host = host
        self.ports = ports  # any instance will do; a reconnect picks one
        self.ward = ward
        self.token = token
        self.log = log
        self.stopping = False
        self.writer: asyncio.StreamWriter | None = None
        self.jitter = (0.05, 1.0)

    def request(self) -> bytes:
        query = f"?since={self.log.seq}-0&epoch={self.log.epoch}" if self.log.seq is not None else ""
        key = base64.b64encode(os.urandom(16)).decode()
        return (
            f"GET /ws/wards/{self.ward}{query} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n"
        ).encode()

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()

    async def run(self) -> None:
        while not self.stopping:
            conn = self.log.open()
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, random.choice(self.ports)), 10
                )
                self.writer = writer
                writer.write(self.request())
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                if not head.startswith(b"HTTP/1.1 101"):
                    conn.error = head.split(b"\r\n", 1)[0].decode(errors="replace")
                else:
                    conn.close_code = await self._frames(reader, writer)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                conn.error = type(exc).__name__
            finally:
                if self.writer is not None:
                    self.writer.transport.abort()
                    self.writer = None
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(random.uniform(*self.jitter))

    async def _frames(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int | None:
        while True:
            b0, b1 = await reader.readexactly(2)
            length = b1 & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await reader.readexactly(8), "big")
            payload = await reader.readexactly(length)
            opcode = b0 & 0x0F
            if opcode == 0x1:
                self.log.see(self.log.connections[-1], parse_frame(payload, self.log.role, keep_board=False))
            elif opcode == 0x8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            elif opcode == 0x9:  # ping → pong, masked as every client frame must be
                mask = os.urandom(4)
                body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
                writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask + body)
