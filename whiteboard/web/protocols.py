"""uvicorn's HTTP and WebSocket protocols with their holes closed: every connection is answered or closed, in
bounded time, before it has shown any credential.

- `AnsweringWebSocket`: uvicorn 0.5x's websockets-sansio protocol hands the raw request to
  `websockets.ServerProtocol`, which refuses an oversized request line (414) or header block (431) by
  *preparing* a reply; uvicorn only writes replies for requests that parsed, so the socket stayed open,
  unanswered, holding a file handle. This writes that reply (or, for an unparseable request, closes), and
  closes any upgrade still neither accepted nor refused `handshake_secs` after it arrived.
- `AnsweringWebSocket` also offers the app a `whiteboard.frame_writer` scope extension (when no compression was
  negotiated, so a frame's bytes are the same for every connection): `write(bytes)` puts an already encoded frame
  on the transport and answers how many bytes wait unsent. The hub encodes each event once per audience and every
  connection costs one `write` (issue 9: the ASGI `send` path encoded the same frame again per connection and was
  the largest share of a fan-out's time).
- `BoundedHeadHttp`: uvicorn's httptools protocol waits for a request's headers for ever (its keep-alive
  timeout starts only after a response), so a client trickling a header a minute holds a socket for ever.
  This closes a connection whose request line and headers have not all arrived `head_secs` after the
  connection opened, or after the request's first byte.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request

FRAME_WRITER: Final = "whiteboard.frame_writer"


def text_frame(payload: bytes) -> bytes:
    """A server-to-client text frame (unmasked, unfragmented, no extensions), as websockets itself encodes it."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


class Mailbox:
    """The part of `asyncio.Queue` uvicorn uses for a connection's incoming messages (`put_nowait`, `get`, `empty`),
    for its one reader. An `asyncio.Queue` holds four deques, ~3 KiB, for every open connection."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self) -> bool:
        return not self.items

    def qsize(self) -> int:
        return len(self.items)

    async def get(self) -> Any:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)


class Flag:
    """The part of `asyncio.Event` uvicorn uses for "the transport may be written" (`set`, `clear`, `wait`), without
    a deque per connection."""

    __slots__ = ("on", "waiters")

    def __init__(self) -> None:
        self.on = False
        self.waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self.on

    def set(self) -> None:
        self.on = True
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.on = False

    async def wait(self) -> None:
        if self.on:
            return
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        await waiter


class AnsweringWebSocket(WebSocketsSansIOProtocol):
    handshake_secs: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handshake_timer: asyncio.TimerHandle | None = None
        # Lean stand-ins for uvicorn's per-connection queue and event (memory per connection, issue 9).
        self.queue = Mailbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The parsed upgrade request and our response are not needed again: ~4 KiB per open connection. The
            # request's headers are emptied in place (websockets' parser keeps the request object while it lives);
            # the app reads the scope's copy.
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]
            if self._handshake_timer is not None:
                self._handshake_timer.cancel()
                self._handshake_timer = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._handshake_timer = self.loop.call_later(self.handshake_secs, self._handshake_overdue)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None and not self.transport.is_closing():
            # The parser refused the request: send its 414/431 (or nothing, for garbage) and hang up.
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
        super().connection_lost(exc)
        # Break the cycles that would otherwise keep a closed connection for the garbage collector (which skips
        # frozen objects: cli/heap.py): the scope's writer is this protocol's bound method, and websockets' parser
        # is a generator whose frame holds the parser's owner. Freed by reference counting instead.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(FRAME_WRITER, None)
        with contextlib.suppress(ValueError):  # "generator already executing": it is ending by itself
            self.conn.parser.close()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and not self.conn.extensions:
            scope["extensions"][FRAME_WRITER] = self.write_frame

    def write_frame(self, data: bytes) -> int:
        """Write an encoded frame if the connection is open and accepted; answer the bytes not yet sent."""
        if not self.handshake_complete or self.close_sent or self.transport.is_closing():
            return 0  # going away: its reader sees the disconnect
        self.transport.write(data)
        return self.transport.get_write_buffer_size()

    def _handshake_overdue(self) -> None:
        if not self.handshake_complete and not self.transport.is_closing():
            self.logger.info("WebSocket handshake not completed within %.0f s; closing", self.handshake_secs)
            self.transport.close()


class BoundedHeadHttp(HttpToolsProtocol):
    head_secs: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_secs, self._head_overdue)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _head_overdue(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.logger.info("request headers not complete within %.0f s; closing", self.head_secs)
            self.transport.close()


def websocket_protocol(handshake_secs: float) -> type[AnsweringWebSocket]:
    """The class for `uvicorn.Config(ws=...)`, with this server's handshake bound."""
    return type("AnsweringWebSocket", (AnsweringWebSocket,), {"handshake_secs": handshake_secs})


def http_protocol(head_secs: float) -> type[BoundedHeadHttp]:
    """The class for `uvicorn.Config(http=...)`, with this server's bound on a request's headers."""
    return type("BoundedHeadHttp", (BoundedHeadHttp,), {"head_secs": head_secs})
