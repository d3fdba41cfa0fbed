"""An MLLP client: what a PAS does, for the demo stream, the tests and checking a listener by hand.

One connection, many messages; each `send` waits for the ACKs the message asks for (one in original mode,
as MSH-15/16 say in enhanced mode).
"""

from __future__ import annotations

import asyncio
import ssl
from types import TracebackType

from whiteboard.feeds.mllp import Frame, Framer, frame

CLIENT_MAX_BYTES = 1024 * 1024


class MllpClient:
    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None, timeout: float = 30.0) -> None:
        self._host, self._port, self._tls, self._timeout = host, port, tls, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._framer = Framer(CLIENT_MAX_BYTES)
        self._ready: list[bytes] = []

    async def __aenter__(self) -> MllpClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port, ssl=self._tls), self._timeout
        )

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await asyncio.wait_for(self._writer.wait_closed(), 2.0)
            except (OSError, TimeoutError, ssl.SSLError):
                pass

    async def send_raw(self, data: bytes) -> None:
        assert self._writer is not None, "connect() first"
        self._writer.write(data)
        await self._writer.drain()

    async def receive(self) -> str:
        """The next frame the listener sends, as text; ConnectionError when it closes first."""
        assert self._reader is not None, "connect() first"
        while not self._ready:
            data = await asyncio.wait_for(self._reader.read(65536), self._timeout)
            if not data:
                raise ConnectionError("the listener closed the connection")
            self._ready += [f.payload for f in self._framer.feed(data) if isinstance(f, Frame)]
        return self._ready.pop(0).decode("utf-8", "replace")

    async def send(self, message: str, *, acks: int = 1) -> list[str]:
        """Send one message (segments separated by CR) and wait for `acks` ACK messages."""
        await self.send_raw(frame(message.encode("utf-8")))
        return [await self.receive() for _ in range(acks)]
