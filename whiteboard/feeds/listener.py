"""The MLLP listener: an asyncio TCP (optionally TLS) server on the server's own event loop.

A connection stays open for any number of messages; each is answered (its ACKs) before the next is read,
so one sender's messages are applied in the order sent. Every connection is bounded: a frame over the size
limit is skipped and refused (AR), a connection silent for the idle time is closed, a message must arrive
whole within its deadline (a peer sending one byte a second is closed, not waited on), and beyond the
connection limit a new peer is closed at once. No connection can crash the server or hold up another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from whiteboard.feeds.ack import Code, Outcome, acks
from whiteboard.feeds.hl7_feed import Hl7Feed, decode
from whiteboard.feeds.hl7_message import MessageError, parse
from whiteboard.feeds.locations import LocationMap
from whiteboard.feeds.mllp import Fault, Frame, Framer, frame
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings

log = logging.getLogger("whiteboard.feeds.mllp")
READ_CHUNK = 64 * 1024
TLS_HANDSHAKE_SECS = 10.0
FAULTS_LOGGED = 3  # framing faults logged per connection; the rest only counted
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 1024 * 1024
    idle_secs: float = 600.0
    message_secs: float = 30.0
    max_connections: int = 32


def tls_context(cert: str | None, key: str | None, client_ca: str | None) -> ssl.SSLContext | None:
    """TLS when a certificate is set (TLS 1.2 or later); with a client CA, peers must present a certificate."""
    if not cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key or None)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class MllpListener:
    def __init__(
        self,
        feed: Hl7Feed,
        host: str,
        port: int,
        limits: Limits,
        tls: ssl.SSLContext | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._feed = feed
        self._metrics = metrics
        self._host, self._port = host, port
        self._limits = limits
        self._tls = tls
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (the one asked for, or the one the OS chose for 0)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        if self._tls is not None:
            self._server = await asyncio.start_server(
                self._accept, self._host, self._port, limit=READ_CHUNK, ssl=self._tls,
                ssl_handshake_timeout=TLS_HANDSHAKE_SECS,
            )  # fmt: skip
        else:
            self._server = await asyncio.start_server(self._accept, self._host, self._port, limit=READ_CHUNK)
        scheme = "mllp+tls" if self._tls else "mllp"
        log.info("HL7 v2 listener on %s://%s:%d", scheme, self._host, self.port)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5.0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        if len(self._connections) >= self._limits.max_connections:
            log.warning("MLLP connection from %s refused: %d connections open", peer, len(self._connections))
            writer.close()
            return
        self._connections.add(task)
        self._gauge()
        try:
            await self._serve(reader, writer, peer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError) as exc:
            log.info("MLLP connection from %s ended: %s", peer, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("MLLP connection from %s failed; closed", peer)
        finally:
            self._connections.discard(task)
            self._gauge()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2.0)

    def _gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.mllp_connections.set(len(self._connections))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object) -> None:
        framer = Framer(self._limits.max_message_bytes)
        frame_started: float | None = None  # when the frame now arriving started (its deadline runs from it)
        started_count = 0
        faults = 0
        while True:
            timeout = self._limits.idle_secs
            if frame_started is not None:
                timeout = min(timeout, frame_started + self._limits.message_secs - time.monotonic())
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), max(timeout, 0.0))
            except TimeoutError:
                why = "a message did not arrive whole in time" if frame_started is not None else "idle"
                log.info("MLLP connection from %s closed: %s", peer, why)
                return
            if not data:
                if framer.in_frame:
                    log.warning("MLLP connection from %s closed in the middle of a message (no end block)", peer)
                return
            for item in framer.feed(data):
                if isinstance(item, Frame):
                    answers = await self._feed.handle(item.payload)
                elif item.fault is Fault.TOO_LARGE:
                    answers = _too_large(item.head, item.size, self._limits.max_message_bytes)
                else:
                    faults += 1
                    if faults <= FAULTS_LOGGED:  # a peer sending nothing but junk must not flood the log
                        log.warning("MLLP from %s: %s (%d bytes)", peer, item.fault.value, item.size)
                    continue
                for answer in answers:
                    writer.write(frame(answer.encode("utf-8")))
                try:  # a peer that never reads its ACKs is closed, not waited on for ever
                    await asyncio.wait_for(writer.drain(), self._limits.idle_secs)
                except TimeoutError:
                    log.info("MLLP connection from %s closed: it does not read its acknowledgements", peer)
                    return
            if not framer.in_frame:
                frame_started = None
            elif frame_started is None or framer.started != started_count:
                frame_started = time.monotonic()
            started_count = framer.started


def _too_large(head: bytes, size: int, limit: int) -> tuple[str, ...]:
    """AR (or CR) for a message over the limit, naming it by the MSH-10 its head carries when it can."""
    reason = f"the message is {size} bytes, over the limit of {limit}; nothing was applied"
    log.warning("MLLP: %s", reason)
    try:
        text = decode(head).split("\r", 1)[0] + "\r"
        msg = parse(text, _UTC)
    except MessageError:
        msg = None
    return acks(msg, Outcome(Code.REJECTED, reason))


def build_listener(settings: Settings, ingest: Ingest, metrics: Metrics, port: int | None = None) -> MllpListener:
    """The listener the settings describe, writing through `ingest`; LocationError for a bad map file."""
    locations = LocationMap.load(settings.mllp_location_map)
    feed = Hl7Feed(ingest, locations, settings.zone, settings.mllp_senders, metrics)
    limits = Limits(settings.mllp_max_message_bytes, settings.mllp_idle_secs, settings.mllp_message_secs,
                    settings.mllp_max_connections)  # fmt: skip
    tls = tls_context(settings.mllp_tls_cert, settings.mllp_tls_key, settings.mllp_tls_client_ca)
    chosen = settings.mllp_port if port is None else port
    assert chosen is not None, "build_listener needs a port (settings.mllp_port or port=)"
    return MllpListener(feed, settings.mllp_host, chosen, limits, tls, metrics)
