"""`/ws/wards/{ward}` on its own: the real app in-process (Starlette's TestClient runs the ASGI app and its
lifespan on the embedded backends), so each rule of the WebSocket protocol is pinned without a subprocess."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from tests.support import SETUP, InProcessSite

WARD = InProcessSite.WARD
URL = f"/ws/wards/{WARD}"


@pytest.fixture
def app_site_settings() -> dict[str, object]:
    """Heartbeats every 50 ms, so a test waiting for a frame never waits long and always gets one."""
    return {"heartbeat_secs": 0.05}


def patch(s: InProcessSite, bed: str, body: dict[str, Any]) -> dict[str, Any]:
    r = s.c.patch(f"/api/wards/{WARD}/beds/{bed}", json=body, headers=s.as_("nurse"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def frame(ws: Any, *, heartbeats: bool = False) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = ws.receive_json()
        if heartbeats or msg["type"] != "heartbeat":
            return msg


def test_the_first_frame_is_a_snapshot_at_the_wards_position(app_site: InProcessSite) -> None:
    s = app_site
    patch(s, "B1", {"notes": "first"})
    with s.c.websocket_connect(URL, headers=s.as_("nurse")) as ws:
        snap = frame(ws)
    assert snap["type"] == "snapshot" and snap["offset"] == "1-0" and "recovered" not in snap
    assert snap["ward"] == {"id": WARD, "name": s.WARD_NAME}
    assert {b["id"]: b["notes"] for b in snap["beds"]}["B1"] == "first"


def test_a_change_arrives_as_one_event_at_the_next_offset(app_site: InProcessSite) -> None:
    s = app_site
    with s.c.websocket_connect(URL, headers=s.as_("nurse")) as ws:
        snap = frame(ws)
        patch(s, "B2", {"notes": "live"})
        event = frame(ws)
    assert (event["type"], event["epoch"], event["offset"]) == ("event", snap["epoch"], "1-0")
    assert event["event"]["bed"] == "B2" and event["event"]["changes"]["notes"] == "live"


def test_a_display_is_sent_no_identifiers(app_site: InProcessSite) -> None:
    s = app_site
    patch(s, "B1", {"patient": {"name": "Alice Walker", "nhs_number": "9434765919"}})
    with s.c.websocket_connect(URL, headers=s.as_("display")) as ws:
        snap = frame(ws)
        patch(s, "B1", {"notes": "board must not see this"})
        event = frame(ws)
    text = repr(snap) + repr(event)
    assert "Alice" not in text and "9434765919" not in text and "board must not see this" not in text
    assert {b["id"]: b["patient"] for b in snap["beds"]}["B1"]["initials"] == "A.W."


def test_resume_replays_each_missed_event_once_then_says_resumed(app_site: InProcessSite) -> None:
    s = app_site
    first = patch(s, "B1", {"notes": "one"})
    with s.c.websocket_connect(URL, headers=s.as_("nurse")) as ws:
        epoch = frame(ws)["epoch"]
    patch(s, "B2", {"notes": "two"})
    patch(s, "B3", {"notes": "three"})
    with s.c.websocket_connect(f"{URL}?since={first['offset']}&epoch={epoch}", headers=s.as_("nurse")) as ws:
        got = [frame(ws), frame(ws), frame(ws)]
    assert [(f["type"], f["offset"]) for f in got] == [("event", "2-0"), ("event", "3-0"), ("resumed", "3-0")]
    assert got[2] == {"type": "resumed", "epoch": epoch, "offset": "3-0", "recovered": True}


@pytest.mark.parametrize("query", ["since=99-0", "since=0-0&epoch=another-epoch"], ids=["ahead", "foreign_epoch"])
def test_a_position_that_cannot_be_resumed_gets_a_snapshot_saying_so(app_site: InProcessSite, query: str) -> None:
    s = app_site
    patch(s, "B1", {"notes": "one"})
    with s.c.websocket_connect(f"{URL}?{query}", headers=s.as_("nurse")) as ws:
        snap = frame(ws)
    assert (snap["type"], snap["recovered"], snap["offset"]) == ("snapshot", False, "1-0")


def test_a_bad_since_closes_with_1008(app_site: InProcessSite) -> None:
    with app_site.c.websocket_connect(f"{URL}?since=yesterday", headers=app_site.as_("nurse")) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            frame(ws)
    assert closed.value.code == 1008


def test_heartbeats_carry_the_clients_position_and_a_ping_gets_one(app_site: InProcessSite) -> None:
    s = app_site
    patch(s, "B1", {"notes": "one"})
    with s.c.websocket_connect(URL, headers=s.as_("display")) as ws:
        snap = frame(ws)
        beat = frame(ws, heartbeats=True)  # unasked: nothing changed for 50 ms
        assert beat["type"] == "heartbeat" and beat["offset"] == snap["offset"] and beat["at"].endswith("Z")
        ws.send_json({"type": "ping"})
        assert frame(ws, heartbeats=True)["type"] == "heartbeat"


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (("bytes", b"\x00"), 1003),
        (("text", "{not json"), 1008),
        (("text", '{"type": "subscribe"}'), 1008),
        (("text", "x" * 5000), 1009),
    ],
    ids=["binary", "not_json", "unknown_type", "too_big"],
)
def test_a_bad_client_frame_closes_that_connection_with_its_code(
    app_site: InProcessSite, send: tuple[str, Any], code: int
) -> None:
    kind, data = send
    with app_site.c.websocket_connect(URL, headers=app_site.as_("nurse")) as ws:
        frame(ws)
        ws.send_bytes(data) if kind == "bytes" else ws.send_text(data)
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                frame(ws)
    assert closed.value.code == code


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wbt_forged"}, {"Cookie": "wb_session=wbt_forged"}],
    ids=["none", "forged_bearer", "forged_cookie"],
)
def test_no_valid_credential_no_upgrade(app_site: InProcessSite, headers: dict[str, str]) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        with app_site.c.websocket_connect(URL, headers=headers):
            pass
    assert refused.value.code == 1008  # closed before accept: the client sees HTTP 403


def test_a_credential_for_another_ward_gets_no_upgrade(app_site: InProcessSite) -> None:
    with pytest.raises(WebSocketDisconnect):
        with app_site.c.websocket_connect("/ws/wards/ward-quiet", headers=app_site.as_("nurse")):
            pass


def test_a_cookie_needs_our_own_origin(app_site: InProcessSite) -> None:
    s = app_site
    cookie = {"Cookie": f"wb_session={s.tokens['nurse']}"}
    with pytest.raises(WebSocketDisconnect):
        with s.c.websocket_connect(URL, headers={**cookie, "Origin": "https://evil.example"}):
            pass
    with s.c.websocket_connect(URL, headers={**cookie, "Origin": "http://testserver"}) as ws:
        assert frame(ws)["type"] == "snapshot"


@pytest.mark.parametrize(
    "app_site_settings", [{"heartbeat_secs": 0.05, "ws_connect_rate_per_min": 6, "ws_connect_burst": 2}]
)
def test_connects_beyond_the_burst_are_answered_429_with_retry_after(app_site: InProcessSite) -> None:
    s = app_site
    for _ in range(2):
        with s.c.websocket_connect(URL, headers=s.as_("display")) as ws:
            frame(ws)
    with pytest.raises(WebSocketDenialResponse) as denied:
        with s.c.websocket_connect(URL, headers=s.as_("display")):
            pass
    assert denied.value.status_code == 429 and int(denied.value.headers["retry-after"]) >= 1
    assert denied.value.json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("app_site_settings", [{"heartbeat_secs": 0.05, "credential_cache_secs": 0.0}])
def test_a_revoked_credential_loses_its_open_connection(app_site: InProcessSite) -> None:
    s = app_site
    store = s.app.state.wb.store  # type: ignore[attr-defined]
    with s.c.websocket_connect(URL, headers=s.as_("display")) as ws:
        frame(ws)
        [cred] = [c for c in s.run(store.list_credentials()) if c.role == "display"]  # type: ignore[attr-defined]
        s.run(store.revoke_credential(cred.id, SETUP))
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                frame(ws, heartbeats=True)
    assert closed.value.code == 1008
