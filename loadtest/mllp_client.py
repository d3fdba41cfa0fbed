"""A synchronous MLLP client for Locust's gevent world: one persistent connection, one message, one ACK.

`whiteboard.feeds.sender.MllpClient` is asyncio, which must not run under gevent; this one uses a plain
socket (cooperative once Locust has monkey-patched it) with the server's own sans-I/O framer
(`whiteboard.feeds.mllp`: pure, no I/O, no server state). Every call is bounded by the timeout: a listener
that never answers costs one failed request (`AckTimeout`), never a stuck user.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from whiteboard.feeds.mllp import Frame, Framer, frame

MAX_ACK_BYTES = 64 * 1024  # an ACK is a few hundred bytes; anything this big is not one


class AckTimeout(TimeoutError):
    """No whole ACK arrived within the timeout (the connection is closed: its state is unknown)."""


@dataclass(frozen=True)
class Ack:
    code: str  # MSA-1: AA, AE, AR (CA, CE, CR in enhanced mode)
    control_id: str  # MSA-2: the MSH-10 it answers
    text: str  # MSA-3: the board's reason when it refused

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


def parse_ack(message: str) -> Ack:
    """MSA-1..3 of an ACK (the board's ACKs always use the standard separators); ValueError if none."""
    for segment in message.split("\r"):
        if segment.startswith("MSA|"):
            fields = segment.split("|") + ["", "", ""]
            return Ack(fields[1], fields[2], fields[3])
    raise ValueError(f"not an ACK (no MSA segment): {message[:80]!r}")


def endpoint(text: str) -> tuple[str, int]:
    """`HOST:PORT` (the runner's `--mllp`) as a pair; ValueError saying what is expected."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:2575)")
    return host.strip("[]"), int(port)


class MllpConnection:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._framer = Framer(MAX_ACK_BYTES)
        self._ready: list[bytes] = []

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        self.close()
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._framer, self._ready = Framer(MAX_ACK_BYTES), []

    def close(self) -> None:
        """Immediate (no linger, nothing waited on): safe in `on_stop`."""
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def send(self, message: str) -> Ack:
        """Send one message (segments separated by CR) and wait for its ACK, at most `timeout` seconds."""
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        deadline = time.monotonic() + self.timeout
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(frame(message.encode("utf-8")))
            while not self._ready:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AckTimeout(f"no ACK within {self.timeout:g} s")
                self._sock.settimeout(left)
                try:
                    data = self._sock.recv(65536)
                except TimeoutError:
                    raise AckTimeout(f"no ACK within {self.timeout:g} s") from None
                if not data:
                    raise ConnectionError("the listener closed the connection before it answered")
                self._ready += [f.payload for f in self._framer.feed(data) if isinstance(f, Frame)]
        except BaseException:
            self.close()  # whatever happened, the stream's position is unknown: a fresh connection next time
            raise
        return parse_ack(self._ready.pop(0).decode("utf-8", "replace"))
