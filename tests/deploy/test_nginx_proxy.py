"""Debian's nginx, running deploy/nginx/whiteboard.conf (ports, certificate and upstreams substituted), in front
of two real `whiteboard serve` instances sharing PostgreSQL and Redis: HTTP and WebSocket go through it, an event
written through either instance reaches a board connected through the proxy, and a board resumes through it.
With an instance stopped, reads and writes go on through the other; with both stopped, nginx's own 502 is the
contract's JSON error with Retry-After; an upstream's own 503 passes through unchanged."""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.deploy.nginx import Nginx, main_conf, render_site, start_tls_proxy
from tests.deploy.tls import self_signed, trusting
from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import frames_until, next_frame
from tests.support import free_port

WARD = "ward-proxy"
on_production_parts = pytest.mark.parametrize("backend", ["redis+postgresql"], indirect=True)


@pytest.fixture
def proxied(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, Nginx, int, int, ssl.SSLContext]]:
    a = make_server()
    a.cli("ward", "add", WARD, "--beds", "4", "--name", "Ward Proxy")
    a.start()
    b = make_server().start()
    proxy = start_tls_proxy(tmp_path / "nginx", [a.port, b.port])
    try:
        yield a, b, proxy.nginx, proxy.http_port, proxy.https_port, proxy.tls
    finally:
        proxy.nginx.stop()


async def _ws(port: int, ctx: ssl.SSLContext, token: str, **query: str) -> ClientConnection:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    url = f"wss://127.0.0.1:{port}/ws/wards/{WARD}" + (f"?{qs}" if qs else "")
    return await connect(url, ssl=ctx, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


def _patch(base: str, token: str, bed: str, body: dict[str, Any], verify: ssl.SSLContext | bool = True) -> str:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, verify=verify, timeout=10) as c:
        r = c.patch(f"/api/wards/{WARD}/beds/{bed}", json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["offset"])


@on_production_parts
async def test_http_and_websockets_through_nginx_to_two_instances(
    proxied: tuple[ServerProcess, ServerProcess, Nginx, int, int, ssl.SSLContext],
) -> None:
    a, b, nginx, http_port, https_port, ctx = proxied
    nurse = a.token("nurse", WARD)
    proxy = f"https://127.0.0.1:{https_port}"

    # Plain HTTP answers /healthz and sends everything else to TLS.
    assert httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=10).json() == {"status": "ok"}
    moved = httpx.get(f"http://127.0.0.1:{http_port}/api/wards/{WARD}", timeout=10)
    assert moved.status_code == 308 and moved.headers["location"].startswith("https://")

    # HTTP through the proxy; the server believed nginx's X-Forwarded-Proto (HSTS is sent over TLS only).
    with httpx.Client(base_url=proxy, headers={"Authorization": f"Bearer {nurse}"}, verify=ctx, timeout=10) as c:
        snap = c.get(f"/api/wards/{WARD}")
        assert snap.status_code == 200 and len(snap.json()["beds"]) == 4
        assert "strict-transport-security" in snap.headers
    with a.client(nurse) as direct:
        assert "strict-transport-security" not in direct.get(f"/api/wards/{WARD}").headers

    # A board connected through nginx (to one instance or the other) sees writes made through each instance.
    ws = await _ws(https_port, ctx, nurse)
    first = await next_frame(ws)
    assert first["type"] == "snapshot"
    via_a = _patch(a.url, nurse, "B01", {"status": "cleaning"})
    via_b = _patch(b.url, nurse, "B02", {"status": "blocked"})
    got = [await next_frame(ws), await next_frame(ws)]
    assert [e["offset"] for e in got] == [via_a, via_b]
    assert [e["event"]["changes"]["status"] for e in got] == ["cleaning", "blocked"]
    await ws.close()

    # Missed while disconnected (written through the proxy), then a resume through the proxy: each event once.
    missed = [_patch(proxy, nurse, f"B0{i}", {"notes": f"missed {i}"}, verify=ctx) for i in (3, 4)]
    ws = await _ws(https_port, ctx, nurse, since=via_b, epoch=first["epoch"])
    frames = await frames_until(ws, lambda m: m["type"] == "resumed")
    assert [f["offset"] for f in frames if f["type"] == "event"] == missed
    assert frames[-1] == {"type": "resumed", "epoch": first["epoch"], "offset": missed[-1], "recovered": True}
    live = _patch(a.url, nurse, "B01", {"notes": "live again"})
    assert (await next_frame(ws))["offset"] == live
    await ws.close()
    assert "[emerg]" not in nginx.output() and "[crit]" not in nginx.output()


def _nginx_error(r: httpx.Response, status: int) -> str:
    """The answer is nginx's own error in the contract's shape; returns its message."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["retry-after"] == "5" and r.headers["cache-control"] == "no-store"
    error = r.json()["error"]
    assert error["code"] == "unavailable" and "try again" in error["message"]
    return str(error["message"])


@on_production_parts
async def test_reads_and_writes_go_on_with_one_instance_down_and_nginx_answers_json_with_none(
    proxied: tuple[ServerProcess, ServerProcess, Nginx, int, int, ssl.SSLContext],
) -> None:
    a, b, nginx, http_port, https_port, ctx = proxied
    nurse = a.token("nurse", WARD)
    auth = {"Authorization": f"Bearer {nurse}"}
    with httpx.Client(base_url=f"https://127.0.0.1:{https_port}", headers=auth, verify=ctx, timeout=20) as c:
        assert [c.get(f"/api/wards/{WARD}").status_code for _ in range(4)] == [200] * 4  # both in use

        a.kill()  # by PID, as a crash would
        # Every read answers: those nginx first hands to the dead instance are retried on the other one.
        reads = [c.get(f"/api/wards/{WARD}") for _ in range(10)]
        assert [r.status_code for r in reads] == [200] * 10, reads[-1].text
        refused = re.findall(rf"upstream: \"http://127\.0\.0\.1:{a.port}/", nginx.output())
        assert refused, "nginx never tried the stopped instance: the test proves nothing\n" + nginx.output()
        # Writes go on through the other instance, each saved once.
        with b.client(nurse) as direct:
            since = direct.get(f"/api/wards/{WARD}").json()["offset"]
            for i in (1, 2, 3):
                saved = c.patch(f"/api/wards/{WARD}/beds/B0{i}", json={"notes": f"while a is down {i}"})
                assert saved.status_code == 200, saved.text
            events = direct.get(f"/api/wards/{WARD}/events", params={"since": since}).json()["events"]
        assert [e["event"]["changes"]["notes"] for e in events] == [f"while a is down {i}" for i in (1, 2, 3)]

        b.kill()
        # No instance at all: nginx's own 502, as the contract's JSON error with Retry-After, for reads and writes.
        _nginx_error(c.get(f"/api/wards/{WARD}"), 502)
        _nginx_error(c.patch(f"/api/wards/{WARD}/beds/B01", json={"notes": "nobody there"}), 502)
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
        _nginx_error(c.get(f"/ws/wards/{WARD}", headers=upgrade), 502)
        _nginx_error(c.get("/static/no-such.js"), 502)  # JSON whatever the path's extension
    _nginx_error(httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=20), 502)  # the plain-HTTP server too

    # One instance back: nginx believes in it again within fail_timeout (3 s) of its coming back.
    a.start()
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=f"https://127.0.0.1:{https_port}", headers=auth, verify=ctx, timeout=20) as c:
        while (r := c.get(f"/api/wards/{WARD}")).status_code != 200 and time.monotonic() < deadline:
            _nginx_error(r, 502)
            time.sleep(0.2)
        assert r.status_code == 200, r.text
        beds = {bed["id"]: bed for bed in r.json()["beds"]}
        assert beds["B01"]["notes"] == "while a is down 1"  # the write nginx answered 502 was not saved
    assert "[emerg]" not in nginx.output() and "[crit]" not in nginx.output()


def _read_until(stop: threading.Event, base: str, token: str, ctx: ssl.SSLContext, codes: list[int]) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, verify=ctx, timeout=20) as c:
        while not stop.is_set():
            codes.append(c.get(f"/api/wards/{WARD}").status_code)
            time.sleep(0.05)


@on_production_parts
def test_a_rolling_restart_as_the_readme_says_answers_every_read(
    proxied: tuple[ServerProcess, ServerProcess, Nginx, int, int, ssl.SSLContext],
) -> None:
    """deploy/README.md's procedure: SIGTERM one, wait for its exit, start it, wait for its /readyz and
    fail_timeout (3 s) more, then the next. A board's reads through nginx never see a 502 meanwhile (without
    nginx's failover they do). Here an instance's stop + start takes longer than 10 s, so this does not tell 3 s
    from the old 10 s fail_timeout: that case needs a restart faster than fail_timeout."""
    a, b, nginx, _, https_port, ctx = proxied
    codes: list[int] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_until, args=(stop, f"https://127.0.0.1:{https_port}",
                              a.token("nurse", WARD), ctx, codes))  # fmt: skip
    reader.start()
    try:
        for instance in (a, b):
            instance.stop()  # SIGTERM by PID, waits for the exit
            instance.start()  # returns once its own /readyz is 200
            time.sleep(5)  # fail_timeout and a margin
    finally:
        stop.set()
        reader.join(30)
    assert codes and set(codes) == {200}, f"{len(codes)} reads: {sorted(set(codes))}"
    tried = [port for port in (a.port, b.port) if f"127.0.0.1:{port}/" in nginx.output()]
    assert tried == [a.port, b.port], "nginx never met a stopped instance: the test proves nothing\n" + nginx.output()


class _Refusing(BaseHTTPRequestHandler):
    """Stands in for an instance answering its own 503 (a database down): a body and Retry-After of its own."""

    def do_GET(self) -> None:
        body = json.dumps({"error": {"code": "unavailable", "message": "the database is unavailable"}}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_upstreams_own_503_passes_through_nginx_unchanged(tmp_path: Path) -> None:
    """error_page covers only the errors nginx makes: the server's 503 (which names what is down) is not replaced."""
    upstream = ThreadingHTTPServer(("127.0.0.1", free_port()), _Refusing)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = self_signed(prefix)
    http_port, https_port = free_port(), free_port()
    site = render_site(prefix, http_port=http_port, https_port=https_port, upstreams=[upstream.server_port],
                       cert=cert, key=key)  # fmt: skip
    nginx = Nginx(prefix, main_conf(prefix, site)).start(https_port)
    try:
        r = httpx.get(f"https://127.0.0.1:{https_port}/readyz", verify=trusting(cert), timeout=20)
        assert r.status_code == 503 and r.headers["retry-after"] == "7"
        assert r.json() == {"error": {"code": "unavailable", "message": "the database is unavailable"}}
        assert "Ward Whiteboard" not in r.text
    finally:
        nginx.stop()
        upstream.shutdown()
        upstream.server_close()
        thread.join(10)
