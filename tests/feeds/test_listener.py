"""The MLLP listener over real sockets (on the real write path): many messages per connection, and every
framing fault (split frames, several per read, junk, a missing end block, a 10 MB message, a peer sending
one byte a second) without a crash, a hang, or another connection held up."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import hl7  # type: ignore[import-untyped]
import pytest

from whiteboard.feeds.compose import Person, adt
from whiteboard.feeds.hl7_feed import Hl7Feed
from whiteboard.feeds.listener import Limits, MllpListener, tls_context
from whiteboard.feeds.mllp import START, frame
from whiteboard.feeds.sender import MllpClient
from whiteboard.store import Store

PEOPLE = [Person(f"Patient{i}", "Test", "", "19600101", "F") for i in range(8)]
LIMITS = Limits(max_message_bytes=64 * 1024, idle_secs=5.0, message_secs=2.0, max_connections=4)


def code(ack: str) -> tuple[str, str]:
    m = hl7.parse(ack)
    return str(m.segment("MSA")[1]), str(m.segment("MSA")[2])


@pytest.fixture
async def listener(feed: Hl7Feed) -> AsyncIterator[MllpListener]:
    srv = MllpListener(feed, "127.0.0.1", 0, LIMITS)
    await srv.start()
    yield srv
    await srv.aclose()


def msg(ward: str, n: int, event: str = "A01") -> str:
    return adt(event, f"L{n}", PEOPLE[n % len(PEOPLE)], f"{ward}^^B{n % 4 + 1}")


async def answered_quickly(port: int, ward: str, n: int) -> float:
    """Another peer is served while a hostile one is connected: the time its ACK took."""
    started = time.monotonic()
    async with MllpClient("127.0.0.1", port, timeout=5) as c:
        [ack] = await c.send(msg(ward, n, "A08"))  # A08 for nobody: an AE, but an answer
    assert code(ack)[1] == f"L{n}"
    return time.monotonic() - started


async def test_one_connection_many_messages_split_and_batched(
    listener: MllpListener, store: Store, wards: tuple[str, str]
) -> None:
    w = wards[0]
    async with MllpClient("127.0.0.1", listener.port) as c:
        for n in range(4):  # one by one, each answered on the same connection
            [ack] = await c.send(msg(w, n))
            assert code(ack) == ("AA", f"L{n}")
        # Four discharges in one write, then each byte on its own: same answers, in order.
        batch = b"".join(frame(msg(w, n, "A03").replace("|L", "|D").encode()) for n in range(4))
        await c.send_raw(batch[: len(batch) // 2])
        for i in range(len(batch) // 2, len(batch)):
            await c.send_raw(batch[i : i + 1])
        acks = [await c.receive() for _ in range(4)]
    assert [code(a) for a in acks] == [("AA", f"D{n}") for n in range(4)]
    state = await store.load_ward(w)
    assert state is not None and all(b["patient"] is None for b in state.beds)


async def test_junk_and_a_missing_end_block_are_skipped(listener: MllpListener, wards: tuple[str, str]) -> None:
    w = wards[0]
    async with MllpClient("127.0.0.1", listener.port) as c:
        await c.send_raw(b"GET / HTTP/1.1\r\n\r\n\x00\xff")  # junk before a frame
        [ack] = await c.send(msg(w, 0))
        assert code(ack) == ("AA", "L0")
        await c.send_raw(START + msg(w, 1).encode())  # no end block, then a whole frame
        [ack] = await c.send(msg(w, 2))
        assert code(ack) == ("AA", "L2")  # L1 was dropped, unanswered and unapplied


async def test_a_10_mb_message_is_refused_and_the_connection_goes_on(
    listener: MllpListener, wards: tuple[str, str]
) -> None:
    w = wards[0]
    big = msg(w, 0).replace("|L0|", "|BIG|") + "NTE|1||" + "x" * (10 * 1024 * 1024) + "\r"
    async with MllpClient("127.0.0.1", listener.port, timeout=30) as c:
        sending = asyncio.create_task(c.send_raw(frame(big.encode())))
        took = await answered_quickly(listener.port, w, 5)  # another peer meanwhile
        await sending
        ack = await c.receive()
        assert code(ack) == ("AR", "BIG") and "over the limit" in hl7.parse(ack).segment("MSA")[3][0]
        [ack] = await c.send(msg(w, 1))
        assert code(ack) == ("AA", "L1")
    assert took < 2.0


async def test_a_peer_sending_one_byte_a_second_is_closed_and_starves_nobody(
    listener: MllpListener, wards: tuple[str, str]
) -> None:
    w = wards[0]
    data = frame(msg(w, 0).encode())
    async with MllpClient("127.0.0.1", listener.port, timeout=10) as slow:
        started = time.monotonic()
        closed = False
        for i in range(6):  # 6 s at one byte a second; the message deadline is 2 s
            try:
                await slow.send_raw(data[i : i + 1])
                took = await answered_quickly(listener.port, w, 6)
                assert took < 1.0
                await asyncio.sleep(1.0)
            except (ConnectionError, OSError):
                closed = True
                break
        if not closed:
            with pytest.raises(ConnectionError):
                await slow.receive()
        assert time.monotonic() - started < 5.0


async def test_an_unfinished_message_and_an_idle_peer_are_closed(feed: Hl7Feed, wards: tuple[str, str]) -> None:
    srv = MllpListener(feed, "127.0.0.1", 0, Limits(64 * 1024, idle_secs=0.5, message_secs=0.5, max_connections=4))
    await srv.start()
    try:
        async with MllpClient("127.0.0.1", srv.port, timeout=5) as c:
            await c.send_raw(START + b"MSH|^~\\&|PAS")  # and then nothing
            with pytest.raises(ConnectionError):
                await c.receive()
        async with MllpClient("127.0.0.1", srv.port, timeout=5) as idle:
            with pytest.raises(ConnectionError):
                await idle.receive()
        await asyncio.sleep(0.1)
        assert srv.connections == 0
    finally:
        await srv.aclose()


async def test_connections_over_the_limit_are_closed(listener: MllpListener, wards: tuple[str, str]) -> None:
    clients = [MllpClient("127.0.0.1", listener.port, timeout=5) for _ in range(LIMITS.max_connections)]
    for c in clients:
        await c.connect()
    try:
        await asyncio.sleep(0.2)
        async with MllpClient("127.0.0.1", listener.port, timeout=5) as extra:
            with pytest.raises((ConnectionError, OSError)):
                await extra.send(msg(wards[0], 0))
        [ack] = await clients[0].send(msg(wards[0], 1))  # those within the limit are served
        assert code(ack) == ("AA", "L1")
    finally:
        for c in clients:
            await c.aclose()


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp / "mllp.pem", tmp / "mllp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_tls(feed: Hl7Feed, wards: tuple[str, str], tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = tls_context(str(cert), str(key), None)
    srv = MllpListener(feed, "127.0.0.1", 0, LIMITS, server_tls)
    await srv.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        client_tls.check_hostname = False
        async with MllpClient("127.0.0.1", srv.port, tls=client_tls) as c:
            [ack] = await c.send(msg(wards[0], 0))
            assert code(ack) == ("AA", "L0")
        async with MllpClient("127.0.0.1", srv.port, timeout=5) as plain:  # plain TCP to a TLS port: refused
            with pytest.raises((ConnectionError, OSError)):
                await plain.send(msg(wards[0], 1))
    finally:
        await srv.aclose()
