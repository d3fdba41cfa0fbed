"""uvicorn's HTTP and WebSocket protocols with their holes closed: every connection is answered or closed, in
bounded time, before it has shown any credential.

- `AnsweringWebSocket`: uvicorn 0.5x's websockets-sansio protocol hands the raw request to
  `websockets.ServerProtocol`, which refuses an oversized request line (414) or header block (431) by
  *preparing* a reply; uvicorn only writes replies for requests that parsed, so the socket stayed open,
  unanswered, holding a file handle. This writes that reply (or, for an unparseable request, closes), and
  closes any upgrade still neither accepted nor refused `handshake_secs` after it arrived.
- `BoundedHeadHttp`: uvicorn's httptools protocol waits for a request's headers for ever (its keep-alive
  timeout starts only after a response), so a client trickling a header a minute holds a socket for ever.
  This closes a connection whose request line and headers have not all arrived `head_secs` after the
  connection opened, or after the request's first byte.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class AnsweringWebSocket(WebSocketsSansIOProtocol):
    handshake_secs: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handshake_timer: asyncio.TimerHandle | None = None

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
