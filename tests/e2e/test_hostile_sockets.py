"""Hostile clients against a real `whiteboard serve`, over raw sockets: oversized WebSocket upgrades are
answered and closed (they used to hang forever, each holding a file handle, without any credential), and a
client that hangs up mid-body or sends a malformed chunk is not a server error."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import next_frame, open_ws

WARD = "ward-hostile"
SOCKETS = 100
ANSWER_WITHIN_SECS = 5.0


HEAD_SECS = 1.0  # the server's bound on a request's headers, short here so the test is quick


@pytest.fixture
def server(servers: list[ServerProcess], tmp_path: Path) -> Iterator[ServerProcess]:
    s = ServerProcess(database_url=f"sqlite:///{tmp_path / 'wb.db'}", workdir=tmp_path,
                      env={"WHITEBOARD_REQUEST_HEAD_SECS": str(HEAD_SECS)})  # fmt: skip
    servers.append(s)
    s.cli("db", "upgrade")  # `ward add` refuses a database that does not exist yet
    s.cli("ward", "add", WARD, "--beds", "3", "--name", "Ward Hostile")
    yield s.start()


def oversized_upgrade(port: int, kind: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    path = f"/ws/wards/{WARD}"
    headers = [f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
               f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]  # fmt: skip
    if kind == "long-header":
        headers.append("Authorization: Bearer " + "a" * 10_240)
    elif kind == "many-headers":
        headers += [f"X-Filler-{i}: x" for i in range(200)]
    elif kind == "long-line":
        path += "?since=" + "9" * 8_500
    return (f"GET {path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode()


async def answer_and_close(port: int, kind: str) -> tuple[str, bytes, float]:
    """Send one oversized upgrade; return what came back before the server closed, and how long that took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(oversized_upgrade(port, kind))
    await writer.drain()
    try:
        reply = await asyncio.wait_for(reader.read(), ANSWER_WITHIN_SECS)  # read() returns at EOF only
    except TimeoutError:
        reply = b"<no answer and not closed>"
    finally:
        writer.close()
    return kind, reply, time.monotonic() - started


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def test_every_oversized_upgrade_is_answered_and_closed(server: ServerProcess) -> None:
    assert server.proc is not None
    baseline = open_files(server.proc.pid)
    kinds = ["long-header", "many-headers", "long-line"]
    results = await asyncio.gather(*(answer_and_close(server.port, kinds[i % 3]) for i in range(SOCKETS)))
    expected = {"long-header": b"HTTP/1.1 431 ", "many-headers": b"HTTP/1.1 431 ", "long-line": b"HTTP/1.1 414 "}
    wrong = [(kind, reply[:60]) for kind, reply, _ in results if not reply.startswith(expected[kind])]
    assert wrong == [], f"{len(wrong)} of {SOCKETS} upgrades were not refused and closed: {wrong[:3]}"
    assert max(secs for *_, secs in results) < ANSWER_WITHIN_SECS
    # The server let go of every socket: its open files are back to where they were.
    deadline = time.monotonic() + 5
    while open_files(server.proc.pid) > baseline + 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert open_files(server.proc.pid) <= baseline + 2
    # And it still serves HTTP and WebSockets.
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    ws = await open_ws(server.ws_url, WARD, server.token("nurse", WARD))
    assert (await next_frame(ws))["type"] == "snapshot"
    await ws.close()


def raw_request(port: int, head: str, body: bytes, *, hang_up: bool) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        if hang_up:
            return b""
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
            if b"\r\n\r\n" in reply:
                break
        return reply


def test_a_client_hanging_up_mid_body_is_not_a_server_error(server: ServerProcess) -> None:
    token = server.token("nurse", WARD)
    ops = server.token("ops")
    head = (f"PATCH /api/wards/{WARD}/beds/B1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n")  # fmt: skip
    for _ in range(3):  # a phone losing signal mid-save: the body stops short and the socket closes
        raw_request(server.port, head + "Content-Length: 200\r\n\r\n", b'{"status": "clea', hang_up=True)
    malformed = raw_request(server.port, head + "Transfer-Encoding: chunked\r\n\r\n", b"zz\r\n{}\r\n0\r\n\r\n",
                            hang_up=False)  # fmt: skip
    assert malformed.startswith(b"HTTP/1.1 400 "), malformed[:80]

    def answered() -> dict[str, float]:
        """whiteboard_http_requests_total for the bed route, by status."""
        text = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {ops}"}).text
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("whiteboard_http_requests_total{") and 'route="/api/wards/{ward}/beds/{bed}"' in line:
                status = line.split('status="', 1)[1].split('"', 1)[0]
                out[status] = out.get(status, 0.0) + float(line.rsplit(" ", 1)[1])
        return out

    deadline = time.monotonic() + 5
    while sum(answered().values()) < 4 and time.monotonic() < deadline:  # hang-ups are noticed asynchronously
        time.sleep(0.05)
    assert answered() == {"499": 4.0}  # counted as "client closed request", never as a 5xx

    assert server.log_path is not None
    log = server.log_path.read_text()
    assert " 500" not in log and '"level":"error"' not in log and "Traceback" not in log, log[-3000:]
    snapshot = httpx.get(f"{server.url}/api/wards/{WARD}", headers={"Authorization": f"Bearer {token}"}).json()
    assert snapshot["offset"] == "0-0"  # nothing was written


def closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes `sock` (it must, within `limit`); anything it sends first is ignored."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        pytest.fail(f"the server kept a half-sent request open for more than {limit} s")
    return time.monotonic() - started


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"GET /ws/wards/" + WARD.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n",  # trickled upgrade
        b"PATCH /api/wards/" + WARD.encode() + b"/beds/B1 HTTP/1.1\r\nHost: x\r\nAuthoriz",  # trickled write
    ],
    ids=["silent", "half-an-upgrade", "half-a-request"],
)
def test_a_request_whose_headers_never_finish_is_closed(server: ServerProcess, sent: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(sent)
        assert HEAD_SECS * 0.5 < closed_after(sock, HEAD_SECS + 4) < HEAD_SECS + 4


def test_a_keep_alive_connection_is_bounded_per_request_too(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # the second request stalls mid-header
        assert closed_after(sock, HEAD_SECS + 6) < HEAD_SECS + 6
