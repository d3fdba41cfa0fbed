"""The load test's synchronous MLLP client against a real `whiteboard serve --mllp-port`, and a silent peer."""

from __future__ import annotations

import datetime as dt
import random
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from loadtest.adt_messages import consultant, message, person, place
from loadtest.mllp_client import AckTimeout, MllpConnection, endpoint, parse_ack
from loadtest.patients import patient
from tests.e2e.server import ServerProcess
from tests.support import free_port
from whiteboard.feeds.compose import adt

WARD = "lt-mllp"


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_messages_are_acknowledged_and_a_refusal_says_why(make_server: Callable[..., ServerProcess]) -> None:
    mllp = free_port()
    s = make_server(args=["--mllp-port", str(mllp)])
    s.cli("ward", "add", WARD, "--beds", "2")
    s.start()

    record = patient(random.Random(1), dt.datetime.now(dt.UTC), block=7)
    assert str(record["nhs_number"]).startswith("9997")
    conn = MllpConnection("127.0.0.1", mllp, timeout=10)
    empty: tuple[str, dict[str, Any]] = (WARD, {"id": "B01"})
    try:
        a01 = message("A01", "LTT1", None, empty, new=record, doctor=consultant("Dr Rao"))
        assert a01 is not None and f"|{place(*empty)}|" in a01 and person(record).nhs_number in a01
        ack = conn.send(a01)
        assert (ack.code, ack.control_id, ack.accepted) == ("AA", "LTT1", True)
        bed = next(b for b in s.client(s.token("admin")).get(f"/api/wards/{WARD}").json()["beds"] if b["id"] == "B01")
        assert bed["status"] == "occupied" and bed["patient"]["name"] == record["name"]
        assert bed["patient"]["nhs_number"] == record["nhs_number"] and bed["patient"]["consultant"] == "Dr Rao"
        other = patient(random.Random(2), dt.datetime.now(dt.UTC), block=8)
        refused = conn.send(str(message("A01", "LTT2", None, empty, new=other)))  # the bed is taken
        assert refused.code == "AE" and refused.control_id == "LTT2" and refused.text and not refused.accepted
        assert conn.send(str(message("A03", "LTT3", (WARD, bed), None))).accepted
        assert message("A02", "LTT4", (WARD, bed), None) is None  # a transfer needs both beds
    finally:
        conn.close()


@pytest.fixture
def silent_peer() -> Iterator[int]:
    """A TCP peer that accepts and reads, and never answers."""
    server = socket.create_server(("127.0.0.1", free_port()))
    held: list[socket.socket] = []

    def accept() -> None:
        try:
            conn, _ = server.accept()
            held.append(conn)
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    server.close()
    for c in held:
        c.close()
    thread.join(5)


def test_a_listener_that_never_answers_costs_one_timeout(silent_peer: int) -> None:
    conn = MllpConnection("127.0.0.1", silent_peer, timeout=0.5)
    with pytest.raises(AckTimeout):
        conn.send(adt("A03", "LTT9", None, facility="LT"))
    assert not conn.connected  # its place in the stream is unknown: the next message opens a new connection


def test_endpoints_and_acks_are_read_or_refused_with_a_reason() -> None:
    assert endpoint("127.0.0.1:2575") == ("127.0.0.1", 2575)
    assert endpoint("[::1]:2575") == ("::1", 2575)
    for bad in ("127.0.0.1", ":2575", "host:0", "host:port"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            endpoint(bad)
    ack = parse_ack("MSH|^~\\&|WHITEBOARD|||||x||ACK^A01^ACK|WB1|P|2.5.1\rMSA|AE|LT5|bed B01 holds another patient\r")
    assert (ack.code, ack.control_id, ack.text, ack.accepted) == ("AE", "LT5", "bed B01 holds another patient", False)
    with pytest.raises(ValueError, match="no MSA"):
        parse_ack("MSH|^~\\&|X\r")
