"""uvicorn's WebSocket protocol with two holes closed: every upgrade is answered or closed, in bounded time.

uvicorn 0.5x's websockets-sansio protocol hands the raw request to `websockets.ServerProtocol`, which
refuses an oversized request line (414) or header block (431) by *preparing* a reply; uvicorn only writes
replies for requests that parsed, so the socket stayed open, unanswered, holding a file handle without
any credential. `AnsweringProtocol` writes that reply (or, for an unparseable request, closes), and closes
any upgrade still not accepted or refused `handshake_secs` after it arrived.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class AnsweringProtocol(WebSocketsSansIOProtocol):
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


def protocol_class(handshake_secs: float) -> type[AnsweringProtocol]:
    """The protocol for `uvicorn.Config(ws=...)`, with this server's handshake bound."""
    return type("AnsweringProtocol", (AnsweringProtocol,), {"handshake_secs": handshake_secs})
