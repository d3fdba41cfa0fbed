"""End to end against real `whiteboard serve` processes: write → event log → WebSocket, resume, trimming,
two instances, a crash between commit and append, and a slow client.

Each test runs on the embedded default (SQLite + in-process log) and on PostgreSQL + Redis, except
where a scenario needs the shared parts (two instances) or shows a difference between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis as redis_sync

from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import frames_until, next_frame, open_ws, raw_upgrade, read_close_code

WARD = "ward-e2e"


def prepared(make_server: Callable[..., ServerProcess], beds: int = 6, **kw: Any) -> ServerProcess:
    s = make_server(**kw)
    s.cli("ward", "add", WARD, "--beds", str(beds), "--name", "Ward E2E")
    return s


async def patch(s: ServerProcess, token: str, bed: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        r = await c.patch(f"/api/wards/{WARD}/beds/{bed}", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_patch_reaches_a_websocket(make_server: Callable[..., ServerProcess]) -> None:
    s = prepared(make_server).start()
    nurse, display = s.token("nurse", WARD), s.token("display", WARD)
    staff_ws = await open_ws(s.ws_url, WARD, nurse)
    board_ws = await open_ws(s.ws_url, WARD, display)
    snap = await next_frame(staff_ws)
    assert snap["type"] == "snapshot" and snap["offset"] == "0-0" and len(snap["beds"]) == 6
    assert (await next_frame(board_ws))["type"] == "snapshot"

    body = {
        "status": "occupied",
        "notes": "Family at 14:00",
        "patient": {"name": "Ada Lovelace", "nhs_number": "9434765919", "named_nurse": "RN Kofi"},
    }
    result = await patch(s, nurse, "B02", body)
    assert result["offset"] == "1-0"

    staff_event = await next_frame(staff_ws)
    assert staff_event["type"] == "event" and staff_event["offset"] == "1-0" and staff_event["epoch"] == snap["epoch"]
    evt = staff_event["event"]
    assert (evt["kind"], evt["ward"], evt["bed"]) == ("patient.admitted", WARD, "B02")
    assert evt["changes"]["patient"]["name"] == "Ada Lovelace"
    assert evt["changes"]["notes"] == "Family at 14:00"

    board_event = await next_frame(board_ws)
    changes = board_event["event"]["changes"]
    assert changes["status"] == "occupied" and changes["patient"]["initials"] == "A.L."
    assert changes["patient"]["named_nurse"] == "RN Kofi"
    for hidden in ("Ada", "Lovelace", "9434765919", "Family at 14:00"):
        assert hidden not in str(board_event)
    await staff_ws.close()
    await board_ws.close()


async def test_resume_gives_every_missed_event_once_then_resumed(make_server: Callable[..., ServerProcess]) -> None:
    s = prepared(make_server).start()
    nurse = s.token("nurse", WARD)
    ws = await open_ws(s.ws_url, WARD, nurse)
    snap = await next_frame(ws)
    await patch(s, nurse, "B01", {"notes": "seen"})
    seen = await next_frame(ws)
    await ws.close()

    for i in range(5):  # missed while disconnected
        await patch(s, nurse, f"B0{i + 1}", {"notes": f"missed {i}"})

    ws = await open_ws(s.ws_url, WARD, nurse, since=seen["offset"], epoch=snap["epoch"])
    frames = await frames_until(ws, lambda m: m["type"] == "resumed")
    events = [f for f in frames if f["type"] == "event"]
    assert [e["offset"] for e in events] == ["2-0", "3-0", "4-0", "5-0", "6-0"]
    assert [e["event"]["changes"]["notes"] for e in events] == [f"missed {i}" for i in range(5)]
    assert frames[-1] == {"type": "resumed", "epoch": snap["epoch"], "offset": "6-0", "recovered": True}
    await patch(s, nurse, "B06", {"notes": "live again"})
    live = await next_frame(ws)
    assert live["offset"] == "7-0"  # nothing twice, nothing skipped
    await ws.close()

    # The HTTP events endpoint agrees.
    with s.client(nurse) as c:
        page = c.get(f"/api/wards/{WARD}/events", params={"since": "1-0", "limit": 3}).json()
    assert [e["offset"] for e in page["events"]] == ["2-0", "3-0", "4-0"] and page["next"] == "4-0"


async def test_resume_with_a_foreign_epoch_gives_a_snapshot(make_server: Callable[..., ServerProcess]) -> None:
    s = prepared(make_server).start()
    nurse = s.token("nurse", WARD)
    await patch(s, nurse, "B01", {"notes": "x"})
    ws = await open_ws(s.ws_url, WARD, nurse, since="0-0", epoch="not-this-epoch")
    snap = await next_frame(ws)
    assert snap["type"] == "snapshot" and snap["recovered"] is False and snap["offset"] == "1-0"
    await ws.close()


async def test_trimmed_history_gives_recovered_false(
    make_server: Callable[..., ServerProcess], backend: dict[str, str | None]
) -> None:
    s = prepared(make_server, env={"WHITEBOARD_STREAM_MAXLEN": "5"}).start()
    nurse = s.token("nurse", WARD)
    ws = await open_ws(s.ws_url, WARD, nurse)
    snap = await next_frame(ws)
    await ws.close()
    for i in range(30):
        await patch(s, nurse, "B01", {"notes": f"n{i}"})
    if backend["redis_url"]:
        # Redis trims `MAXLEN ~` by whole nodes; trim exactly, as retention would after long enough.
        client = redis_sync.Redis.from_url(str(backend["redis_url"]))
        [stream] = list(client.scan_iter(match=f"{backend['redis_prefix']}:*:s"))
        client.xtrim(stream, maxlen=5, approximate=False)

    ws = await open_ws(s.ws_url, WARD, nurse, since=snap["offset"], epoch=snap["epoch"])
    fresh = await next_frame(ws)
    assert fresh["type"] == "snapshot" and fresh["recovered"] is False
    assert fresh["offset"] == "30-0"
    assert fresh["beds"][0]["notes"] == "n29"
    await ws.close()
    with s.client(nurse) as c:
        gone = c.get(f"/api/wards/{WARD}/events", params={"since": "0-0"})
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "gone"
        kept = c.get(f"/api/wards/{WARD}/events", params={"since": "26-0"})
        assert [e["offset"] for e in kept.json()["events"]] == ["27-0", "28-0", "29-0", "30-0"]


@pytest.mark.parametrize("backend", ["redis+postgresql"], indirect=True)
async def test_two_instances_share_one_redis(make_server: Callable[..., ServerProcess]) -> None:
    """A change made through one instance reaches a client connected to the other."""
    a = prepared(make_server).start()
    b = make_server().start()
    nurse = a.token("nurse", WARD)
    ws_b = await open_ws(b.ws_url, WARD, nurse)
    snap = await next_frame(ws_b)
    result = await patch(a, nurse, "B03", {"status": "cleaning"})
    evt = await next_frame(ws_b)
    assert evt["offset"] == result["offset"] and evt["epoch"] == snap["epoch"]
    assert evt["event"]["changes"]["status"] == "cleaning"
    # ...and the other way round, with the snapshot on A reflecting B's write.
    await patch(b, nurse, "B04", {"status": "blocked"})
    await next_frame(ws_b)
    with a.client(nurse) as c:
        for _ in range(50):
            beds = {x["id"]: x["status"] for x in c.get(f"/api/wards/{WARD}").json()["beds"]}
            if beds["B04"] == "blocked":
                break
            await asyncio.sleep(0.05)
    assert beds["B03"] == "cleaning" and beds["B04"] == "blocked"
    await ws_b.close()


async def test_crash_between_commit_and_append_loses_and_duplicates_nothing(
    make_server: Callable[..., ServerProcess], backend: dict[str, str | None]
) -> None:
    s = prepared(make_server).start()
    nurse = s.token("nurse", WARD)
    await patch(s, nurse, "B01", {"notes": "before"})
    ws = await open_ws(s.ws_url, WARD, nurse)
    snap = await next_frame(ws)
    assert snap["offset"] == "1-0"
    await ws.close()
    s.stop()

    s.start({"WHITEBOARD_TEST_CRASH_AFTER_COMMIT": "1"})
    with pytest.raises(httpx.HTTPError):  # the process dies after COMMIT, before the answer
        async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {nurse}"}) as c:
            await c.patch(f"/api/wards/{WARD}/beds/B02", json={"notes": "committed, then crash"})
    assert s.wait_exit() == 70
    s.start()

    ws = await open_ws(s.ws_url, WARD, nurse, since=snap["offset"], epoch=snap["epoch"])
    if backend["redis_url"]:
        # The shared log survived: the relay appended the committed change exactly once at start-up.
        frames = await frames_until(ws, lambda m: m["type"] == "resumed")
        assert [(f["type"], f.get("offset")) for f in frames] == [("event", "2-0"), ("resumed", "2-0")]
        assert frames[0]["event"]["changes"]["notes"] == "committed, then crash"
    else:
        # The in-process log died with the process: a new epoch, so a snapshot that has the change.
        fresh = await next_frame(ws)
        assert fresh["type"] == "snapshot" and fresh["recovered"] is False and fresh["offset"] == "2-0"
        assert {b["id"]: b["notes"] for b in fresh["beds"]}["B02"] == "committed, then crash"
    await patch(s, nurse, "B03", {"notes": "after"})
    nxt = await next_frame(ws)
    assert nxt["offset"] == "3-0"
    await ws.close()
    with s.client(nurse) as c:
        page = c.get(f"/api/wards/{WARD}/events", params={"since": "1-0"})
    if backend["redis_url"]:
        assert [e["offset"] for e in page.json()["events"]] == ["2-0", "3-0"]
    admin = s.token("admin")
    with s.client(admin) as c:
        audit = c.get("/api/audit", params={"ward": WARD, "bed": "B02"}).json()
    assert [a["offset"] for a in audit] == ["2-0"]  # audited once, with the change


async def test_slow_client_is_closed_while_others_keep_receiving(make_server: Callable[..., ServerProcess]) -> None:
    # Rate limits off: this test writes far faster than any nurse to fill the slow client's buffers.
    s = prepared(
        make_server,
        env={
            "WHITEBOARD_WS_QUEUE_SIZE": "16",
            "WHITEBOARD_WS_SEND_BUFFER_BYTES": "65536",
            "WHITEBOARD_WRITE_RATE_PER_MIN": "0",
        },
    ).start()
    nurse, ops = s.token("nurse", WARD), s.token("ops")
    slow = raw_upgrade(s.port, f"/ws/wards/{WARD}", nurse)  # handshake done; never reads again
    fast = await open_ws(s.ws_url, WARD, nurse)
    await next_frame(fast)
    tasks = [{"kind": "other", "text": "x" * 190 + str(i)} for i in range(30)]  # ~6 KB per event
    sent = 0
    closed = False
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {nurse}"}, timeout=10) as http:
        # Keep writing until the server gives up on the slow client (its socket buffers fill first);
        # bounded, so a server that never detects it fails the test instead of hanging.
        for _round in range(400):
            bodies = []
            for bed in range(1, 5):  # bursts stay under the queue size, as a ward's do
                tasks[0]["text"] = f"{sent} " + "y" * 150
                bodies.append((f"B0{bed}", {"status": "occupied", "patient": {"name": "Slow Test", "tasks": tasks}}))
                sent += 1
            answers = await asyncio.gather(*(http.patch(f"/api/wards/{WARD}/beds/{b}", json=j) for b, j in bodies))
            assert all(a.status_code == 200 for a in answers)
            offsets = sorted([int((await next_frame(fast))["offset"].split("-")[0]) for _ in bodies])
            assert offsets == list(range(sent - len(bodies) + 1, sent + 1))  # every event, in order, once
            metrics = (
                (await http.get("/metrics", headers={"Authorization": f"Bearer {ops}"})).text if _round % 5 == 4 else ""
            )
            if 'whiteboard_ws_closed_total{reason="slow_client"} 1.0' in metrics:
                closed = True
                break
    assert closed, f"slow client still connected after {sent} events"
    print(f"slow client closed after {sent} events")
    # The slow client reads again at once, within the server's bounded close (2 s): behind the frames it missed,
    # it must find the 1013 close frame that tells it to resume by offset, not a connection that just ends.
    close_code = asyncio.get_running_loop().run_in_executor(None, read_close_code, slow)
    # The fast client is still live after the slow one was dropped.
    await patch(s, nurse, "B01", {"notes": "still here"})
    assert (await next_frame(fast))["event"]["changes"]["notes"] == "still here"
    assert await close_code == 1013
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {ops}"}, timeout=10) as http:
        assert 'whiteboard_ws_closed_total{reason="1013"} 1.0' in (await http.get("/metrics")).text
    slow.close()
    await fast.close()


async def test_bad_since_and_missing_credentials_on_websocket(make_server: Callable[..., ServerProcess]) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    s = prepared(make_server).start()
    nurse = s.token("nurse", WARD)
    with pytest.raises(InvalidStatus) as refused:
        await open_ws(s.ws_url, WARD, "wbt_forged")
    assert refused.value.response.status_code == 403
    other = s.token("display", WARD)
    s.cli("ward", "add", "ward-other", "--beds", "2")
    with pytest.raises(InvalidStatus):
        await open_ws(s.ws_url, "ward-other", other)
    ws = await open_ws(s.ws_url, WARD, nurse, since="yesterday")
    with pytest.raises(ConnectionClosed) as closed:
        await next_frame(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # A malformed frame closes only that connection.
    ws1, ws2 = await open_ws(s.ws_url, WARD, nurse), await open_ws(s.ws_url, WARD, nurse)
    await next_frame(ws1)
    await next_frame(ws2)
    await ws1.send("{not json")
    with pytest.raises(ConnectionClosed) as closed:
        await next_frame(ws1)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await ws2.send('{"type": "ping"}')
    assert (await next_frame(ws2, skip_heartbeats=False))["type"] == "heartbeat"
    await ws2.send("x" * 10_000)  # over the frame limit
    with pytest.raises(ConnectionClosed) as closed:
        await next_frame(ws2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.mark.parametrize("backend", ["redis+postgresql"], indirect=True)
async def test_log_lost_under_a_connected_client_gives_a_fresh_snapshot(
    make_server: Callable[..., ServerProcess], backend: dict[str, str | None]
) -> None:
    """Redis loses the ward's log (a restart without persistence): watchers get `recovered: false`, no gap."""
    s = prepared(make_server).start()
    nurse = s.token("nurse", WARD)
    await patch(s, nurse, "B01", {"notes": "one"})
    ws = await open_ws(s.ws_url, WARD, nurse)
    snap = await next_frame(ws)
    client = redis_sync.Redis.from_url(str(backend["redis_url"]))
    client.delete(*list(client.scan_iter(match=f"{backend['redis_prefix']}:*")))
    await patch(s, nurse, "B02", {"notes": "two"})
    fresh = await next_frame(ws)
    assert fresh["type"] == "snapshot" and fresh["recovered"] is False
    assert fresh["epoch"] != snap["epoch"] and fresh["offset"] == "2-0"
    assert {b["id"]: b["notes"] for b in fresh["beds"]}["B02"] == "two"
    await patch(s, nurse, "B03", {"notes": "three"})
    nxt = await next_frame(ws)
    assert (nxt["type"], nxt["offset"], nxt["epoch"]) == ("event", "3-0", fresh["epoch"])
    await ws.close()


async def test_heartbeats_flow_when_nothing_changes(make_server: Callable[..., ServerProcess]) -> None:
    s = prepared(make_server, env={"WHITEBOARD_HEARTBEAT_SECS": "0.3"}).start()
    ws = await open_ws(s.ws_url, WARD, s.token("display", WARD))
    snap = await next_frame(ws)
    beat = await next_frame(ws, skip_heartbeats=False)
    assert beat["type"] == "heartbeat" and beat["offset"] == snap["offset"] and beat["at"].endswith("Z")
    await ws.close()


async def test_demo_seeds_once_and_feeds_through_the_write_path(make_server: Callable[..., ServerProcess]) -> None:
    s = make_server(args=["--demo", "--demo-seed", "3"], env={"WHITEBOARD_DEMO_RATE": "600"}).start()
    admin = s.token("admin")
    with s.client(admin) as c:
        wards = c.get("/api/wards").json()
        assert len(wards) >= 3 and all(20 <= w["beds"] <= 30 for w in wards)
        first = c.get(f"/api/wards/{wards[0]['id']}").json()
        # Across every ward: the feed (10 changes/s) may already have filled a ward's only empty bed.
        beds = [b for w in wards for b in c.get(f"/api/wards/{w['id']}").json()["beds"]]
        assert {"empty", "cleaning", "occupied"} <= {b["status"] for b in beds}
        assert any(b["patient"] and b["patient"]["nhs_number"].startswith("999") for b in first["beds"])
        deadline = asyncio.get_running_loop().time() + 15
        demo_changes: list[dict[str, Any]] = []
        while not demo_changes and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.3)
            demo_changes = [a for a in c.get("/api/audit").json() if a["source"] == "demo" and a["offset"]]
        assert demo_changes, "the simulated feed made no audited change"
    s.stop()
    s.start()  # a restart keeps what is there rather than seeding again
    with s.client(admin) as c:
        assert [w["id"] for w in c.get("/api/wards").json()] == [w["id"] for w in wards]


async def test_websocket_connects_are_rate_limited(make_server: Callable[..., ServerProcess]) -> None:
    from websockets.exceptions import InvalidStatus

    s = prepared(make_server, env={"WHITEBOARD_WS_CONNECT_RATE_PER_MIN": "6", "WHITEBOARD_WS_CONNECT_BURST": "2"})
    s.start()
    token = s.token("display", WARD)
    for _ in range(2):
        ws = await open_ws(s.ws_url, WARD, token)
        await next_frame(ws)
        await ws.close()
    with pytest.raises(InvalidStatus) as refused:
        await open_ws(s.ws_url, WARD, token)
    assert refused.value.response.status_code == 429
    assert int(refused.value.response.headers["Retry-After"]) >= 1


async def test_revoking_a_credential_closes_its_open_websockets(make_server: Callable[..., ServerProcess]) -> None:
    from websockets.exceptions import ConnectionClosed

    s = prepared(make_server, env={"WHITEBOARD_CREDENTIAL_CACHE_SECS": "1"}).start()
    board = s.token("display", WARD)
    keep = s.token("nurse", WARD)
    doomed_ws, kept_ws = await open_ws(s.ws_url, WARD, board), await open_ws(s.ws_url, WARD, keep)
    await next_frame(doomed_ws)
    await next_frame(kept_ws)
    [line] = [ln for ln in s.cli("token", "list").stdout.splitlines() if " display " in ln]
    s.cli("token", "revoke", line.split()[0])
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await next_frame(doomed_ws, skip_heartbeats=False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await patch(s, keep, "B01", {"notes": "others carry on"})
    assert (await next_frame(kept_ws))["event"]["changes"]["notes"] == "others carry on"
    await kept_ws.close()


async def test_cookie_websockets_need_our_own_origin_and_no_compression(
    make_server: Callable[..., ServerProcess],
) -> None:
    """No cross-site WebSocket hijacking with a cookie; permessage-deflate is not negotiated by default."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    s = prepared(make_server).start()
    token = s.token("nurse", WARD)
    url = f"{s.ws_url}/ws/wards/{WARD}"
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, additional_headers={"Cookie": f"wb_session={token}", "Origin": "https://evil.example"})
    assert refused.value.response.status_code == 403
    own = f"http://127.0.0.1:{s.port}"
    ws = await connect(url, additional_headers={"Cookie": f"wb_session={token}", "Origin": own})
    assert (await next_frame(ws))["type"] == "snapshot"
    assert ws.response is not None
    assert "permessage-deflate" not in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
    await ws.close()
