"""Real sockets against a real `whiteboard serve --mllp-port`: ADT messages move patients on the boards
(WebSocket events on both wards), and `whiteboard feed demo` drives a stream through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hl7  # type: ignore[import-untyped]

from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import frames_until, next_frame, open_ws
from tests.support import free_port
from whiteboard.feeds.compose import Person, adt
from whiteboard.feeds.sender import MllpClient

WARDS = ("ward-adt-a", "ward-adt-b")
ADA = Person("Lovelace", "Ada", "9434765919", "19451210", "F")


def feed_server(make_server: Callable[..., ServerProcess]) -> tuple[ServerProcess, int]:
    mllp = free_port()
    s = make_server(args=["--mllp-port", str(mllp)])
    s.cli("ward", "add", *WARDS, "--beds", "4")
    return s.start(), mllp


def code(ack: str) -> str:
    return str(hl7.parse(ack).segment("MSA")[1])


async def test_admit_and_discharge_reach_the_boards(make_server: Callable[..., ServerProcess]) -> None:
    s, mllp = feed_server(make_server)
    display = s.token("display", WARDS[0])
    ws = await open_ws(s.ws_url, WARDS[0], display)
    try:
        assert (await next_frame(ws))["type"] == "snapshot"
        async with MllpClient("127.0.0.1", mllp) as pas:
            [ack] = await pas.send(adt("A01", "S1", ADA, f"{WARDS[0]}^BAY1^B01"))
            assert code(ack) == "AA"
            event = (await next_frame(ws))["event"]
            assert event["kind"] == "patient.admitted" and event["bed"] == "B01"
            assert event["changes"]["patient"]["initials"] == "A.L."
            assert "name" not in event["changes"]["patient"]  # a display never receives the name
            [ack] = await pas.send(adt("A03", "S2", ADA, f"{WARDS[0]}^BAY1^B01"))
            assert code(ack) == "AA"
            frames: list[dict[str, Any]] = await frames_until(
                ws, lambda f: f.get("event", {}).get("kind") == "patient.discharged"
            )
            assert frames[-1]["event"]["changes"]["status"] == "cleaning"
    finally:
        await ws.close()
    records = s.client(s.token("admin")).get("/api/audit", params={"ward": WARDS[0]}).json()
    assert any(r["source"] == "feed:hl7" and r["action"] == "patient.admitted" for r in records)


async def test_admit_transfer_discharge_across_two_wards_updates_both_boards(
    make_server: Callable[..., ServerProcess],
) -> None:
    s, mllp = feed_server(make_server)
    staff = s.token("viewer")
    boards = [await open_ws(s.ws_url, w, staff) for w in WARDS]
    try:
        for ws in boards:
            assert (await next_frame(ws))["type"] == "snapshot"
        async with MllpClient("127.0.0.1", mllp) as pas:
            [ack] = await pas.send(adt("A01", "X1", ADA, f"{WARDS[0]}^^B02"))
            assert code(ack) == "AA"
            assert (await next_frame(boards[0]))["event"]["kind"] == "patient.admitted"
            [ack] = await pas.send(adt("A02", "X2", ADA, f"{WARDS[1]}^^B04", prior=f"{WARDS[0]}^^B02"))
            assert code(ack) == "AA"
            out = (await next_frame(boards[0]))["event"]
            into = (await next_frame(boards[1]))["event"]
            assert out["kind"] == "patient.transferred_out" and out["changes"]["status"] == "cleaning"
            assert into["kind"] == "patient.transferred_in" and into["bed"] == "B04"
            assert into["changes"]["patient"]["name"] == "Ada Lovelace"
            [ack] = await pas.send(adt("A03", "X3", ADA, f"{WARDS[1]}^^B04"))
            assert code(ack) == "AA"
            assert (await next_frame(boards[1]))["event"]["kind"] == "patient.discharged"
    finally:
        for ws in boards:
            await ws.close()
    viewer = s.client(staff)
    assert viewer.get(f"/api/wards/{WARDS[0]}").json()["beds"][1]["status"] == "cleaning"
    assert viewer.get(f"/api/wards/{WARDS[1]}").json()["beds"][3]["patient"] is None


async def test_feed_demo_sends_a_stream(make_server: Callable[..., ServerProcess]) -> None:
    s, mllp = feed_server(make_server)
    result = s.cli("feed", "demo", "--port", str(mllp), "--count", "30", "--rate", "100", "--seed", "7")
    assert "sent 30" in result.stderr and "A01 AA" in result.stderr, result.stderr
    assert " AR" not in result.stderr  # nothing the board could not take (a stream true to the board)
    admin = s.client(s.token("admin"))
    changes = [r for w in WARDS for r in admin.get("/api/audit", params={"ward": w}).json()]
    assert sum(r["source"] == "feed:hl7" for r in changes) >= 20


async def test_feed_listen_runs_the_listener_alone(make_server: Callable[..., ServerProcess]) -> None:
    import asyncio
    import signal
    import subprocess
    import sys

    s = make_server()  # only for its database, environment and CLI: `serve` is never started
    s.cli("ward", "add", WARDS[0], "--beds", "2")
    mllp = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "whiteboard", "feed", "listen", "--mllp-port", str(mllp)],
        env=s.cli_env(),
        cwd=s.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                async with MllpClient("127.0.0.1", mllp, timeout=5) as pas:
                    [ack] = await pas.send(adt("A01", "FL1", ADA, f"{WARDS[0]}^^B01"))
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("feed listen did not start")
        assert code(ack) == "AA"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    from whiteboard.store import open_store

    store = open_store(s.database_url)
    await store.connect()
    try:
        state = await store.load_ward(WARDS[0])
        records = await store.audit(ward=WARDS[0])
    finally:
        await store.aclose()
    assert state is not None and state.beds[0]["patient"]["name"] == "Ada Lovelace"
    assert any(r["source"] == "feed:hl7" for r in records)
