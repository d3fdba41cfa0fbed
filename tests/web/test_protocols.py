"""The bounded uvicorn protocols under a real uvicorn server on loopback, with an app that never answers a
WebSocket upgrade: the handshake bound closes the socket (the app's own checks answer in milliseconds, so only
a stalled backend or a bug could leave an upgrade open, and then it must not hold the socket for ever)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from collections.abc import AsyncIterator

import uvicorn

from tests.support import free_port
from whiteboard.web import protocols

HANDSHAKE_SECS = 0.5


async def stalling_app(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] == "websocket":
        await asyncio.Event().wait()  # neither accept nor refuse


@contextlib.asynccontextmanager
async def serving(port: int) -> AsyncIterator[None]:
    config = uvicorn.Config(
        stalling_app, host="127.0.0.1", port=port, lifespan="off", log_config=None,
        http=protocols.http_protocol(10.0), ws=protocols.websocket_protocol(HANDSHAKE_SECS),
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, 10)


async def test_an_upgrade_the_app_never_answers_is_closed_after_the_handshake_bound() -> None:
    port = free_port()
    async with serving(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing sent
        assert HANDSHAKE_SECS * 0.8 < time.monotonic() - started < HANDSHAKE_SECS + 3
        writer.close()
