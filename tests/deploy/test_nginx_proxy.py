"""Debian's nginx, running deploy/nginx/whiteboard.conf (ports, certificate and upstreams substituted), in front
of two real `whiteboard serve` instances sharing PostgreSQL and Redis: HTTP and WebSocket go through it, an event
written through either instance reaches a board connected through the proxy, and a board resumes through it."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.deploy.nginx import Nginx, main_conf, render_site
from tests.deploy.tls import self_signed, trusting
from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import frames_until, next_frame
from tests.support import free_port

WARD = "ward-proxy"
pytestmark = pytest.mark.parametrize("backend", ["redis+postgresql"], indirect=True)


@pytest.fixture
def proxied(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, Nginx, int, int, ssl.SSLContext]]:
    a = make_server()
    a.cli("ward", "add", WARD, "--beds", "4", "--name", "Ward Proxy")
    a.start()
    b = make_server().start()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = self_signed(prefix)
    http_port, https_port = free_port(), free_port()
    site = render_site(prefix, http_port=http_port, https_port=https_port, upstreams=[a.port, b.port], cert=cert,
                       key=key)  # fmt: skip
    nginx = Nginx(prefix, main_conf(prefix, site)).start(https_port)
    try:
        yield a, b, nginx, http_port, https_port, trusting(cert)
    finally:
        nginx.stop()


async def _ws(port: int, ctx: ssl.SSLContext, token: str, **query: str) -> ClientConnection:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    url = f"wss://127.0.0.1:{port}/ws/wards/{WARD}" + (f"?{qs}" if qs else "")
    return await connect(url, ssl=ctx, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


def _patch(base: str, token: str, bed: str, body: dict[str, Any], verify: ssl.SSLContext | bool = True) -> str:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, verify=verify, timeout=10) as c:
        r = c.patch(f"/api/wards/{WARD}/beds/{bed}", json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["offset"])


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
