"""Small WebSocket helpers for the end-to-end tests (a real `websockets` client over TCP)."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

FRAME_TIMEOUT_SECS = 10.0


async def open_ws(base: str, ward: str, token: str, **query: str) -> ClientConnection:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    url = f"{base}/ws/wards/{ward}" + (f"?{qs}" if qs else "")
    return await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


async def next_frame(ws: ClientConnection, *, skip_heartbeats: bool = True) -> dict[str, Any]:
    import asyncio

    while True:
        raw = await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT_SECS)
        msg: dict[str, Any] = orjson.loads(raw)
        if skip_heartbeats and msg["type"] == "heartbeat":
            continue
        return msg


async def frames_until(ws: ClientConnection, stop: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        msg = await next_frame(ws)
        out.append(msg)
        if stop(msg):
            return out


def raw_upgrade(port: int, path: str, token: str, *, rcvbuf: int = 4096) -> socket.socket:
    """A WebSocket that completes the handshake and then reads nothing: the slowest possible client."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("server closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.decode(errors="replace"))
    return sock


def read_close_code(sock: socket.socket, timeout: float = 20.0) -> int | None:
    """Drain server frames until a close frame (its code) or EOF (None)."""
    sock.settimeout(timeout)
    buf = b""

    def need(n: int) -> bytes:
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        out, buf = buf[:n], buf[n:]
        return out

    try:
        while True:
            b0, b1 = need(2)
            length = b1 & 0x7F
            if length == 126:
                length = int.from_bytes(need(2), "big")
            elif length == 127:
                length = int.from_bytes(need(8), "big")
            payload = need(length)
            if b0 & 0x0F == 0x8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
    except (EOFError, ConnectionResetError):
        return None
