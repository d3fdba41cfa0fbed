"""The security headers on a tiny app of their own: the set is imposed on every HTTP answer, a server error's
included (an endpoint cannot weaken it), only Cache-Control is the endpoint's to choose, HSTS only over TLS,
WebSockets untouched."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from tests.support import SECURITY_HEADERS
from whiteboard.web.edge import SecuredStarlette

IMPOSED = SECURITY_HEADERS


async def plain(request: Request) -> Response:
    return PlainTextResponse("hello")


async def weaker(request: Request) -> Response:
    """An endpoint that tries to loosen the policy: the middleware's values win."""
    return PlainTextResponse(
        "framed",
        headers={
            "Content-Security-Policy": "default-src *",
            "Referrer-Policy": "unsafe-url",
            "X-Frame-Options": "ALLOWALL",
        },
    )


async def cacheable(request: Request) -> Response:
    return PlainTextResponse("static", headers={"Cache-Control": "public, max-age=31536000, immutable"})


async def failing(request: Request) -> Response:
    raise RuntimeError("boom")


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(await ws.receive_text())
    await ws.close()


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = SecuredStarlette(
        routes=[Route("/", plain), Route("/weaker", weaker), Route("/static", cacheable), Route("/fail", failing),
                WebSocketRoute("/ws", echo)],
    )  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def imposed(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers.get(name, "<missing>") for name in IMPOSED}


@pytest.mark.parametrize("path", ["/", "/weaker", "/static", "/fail", "/no-such-page"])
def test_every_answer_carries_the_whole_set_and_no_endpoint_weakens_it(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == {"/fail": 500, "/no-such-page": 404}.get(path, 200)
    assert imposed(r.headers) == IMPOSED


def test_answers_are_not_cached_unless_they_say_so(client: TestClient) -> None:
    assert client.get("/").headers["cache-control"] == "no-store"
    assert client.get("/fail").headers["cache-control"] == "no-store"
    assert client.get("/static").headers["cache-control"] == "public, max-age=31536000, immutable"


def test_hsts_only_over_tls(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/").headers
    r = client.get("https://testserver/")
    assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_each_header_is_sent_once(client: TestClient) -> None:
    r = client.get("/weaker")
    for name in IMPOSED:
        assert len(r.headers.get_list(name)) == 1, name


def test_websockets_pass_through_untouched(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "ping"
