"""A transfer against real `whiteboard serve` processes (embedded, and PostgreSQL + Redis): both wards' live
sockets get exactly one event each, displays see it without identifiers, and a move within a ward reaches a
socket as one event naming both beds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import next_frame, open_ws

A, B = "ward-move-a", "ward-move-b"
PATIENT = {"name": "Ada Lovelace", "nhs_number": "9434765919", "named_nurse": "RN Kofi"}


async def post(s: ServerProcess, token: str, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        r = await c.request(method, path, json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_a_transfer_reaches_both_wards_sockets_once(make_server: Callable[..., ServerProcess]) -> None:
    s = make_server()
    for ward in (A, B):
        s.cli("ward", "add", ward, "--beds", "3")
    s.start()
    nurse = s.token("nurse", A, B)
    staff_a, staff_b = await open_ws(s.ws_url, A, nurse), await open_ws(s.ws_url, B, nurse)
    board_b = await open_ws(s.ws_url, B, s.token("display", B))
    for ws in (staff_a, staff_b, board_b):
        assert (await next_frame(ws))["type"] == "snapshot"
    await post(s, nurse, f"/api/wards/{A}/beds/B01", {"patient": PATIENT}, "PATCH")
    assert (await next_frame(staff_a))["event"]["kind"] == "patient.admitted"

    answer = await post(s, nurse, f"/api/wards/{A}/beds/B01/transfer", {"to_ward": B, "to_bed": "B02"})
    out, into, shown = await next_frame(staff_a), await next_frame(staff_b), await next_frame(board_b)
    assert out["offset"] == answer["offset"] == "2-0" and into["offset"] == answer["to"]["offset"] == "1-0"
    assert out["event"]["kind"] == "patient.transferred_out" and out["event"]["changes"]["patient"] is None
    assert into["event"]["kind"] == "patient.transferred_in" and into["event"]["from"] == {"ward": A, "bed": "B01"}
    assert into["event"]["changes"]["patient"]["name"] == "Ada Lovelace"
    assert shown["event"]["changes"]["patient"]["initials"] == "A.L."
    assert "Lovelace" not in str(shown) and "9434765919" not in str(shown)

    await post(s, nurse, f"/api/wards/{B}/beds/B02/transfer", {"to_bed": "B03"})
    within, on_board = await next_frame(staff_b), await next_frame(board_b)
    assert within["event"]["kind"] == "patient.transferred" and within["offset"] == "2-0"
    assert within["event"]["changes"]["patient"] is None
    assert within["event"]["also"]["B03"]["patient"]["name"] == "Ada Lovelace"
    assert on_board["event"]["also"]["B03"]["patient"]["initials"] == "A.L." and "Lovelace" not in str(on_board)
    # the second move wrote nothing to ward A
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {nurse}"}, timeout=10) as c:
        assert (await c.get(f"/api/wards/{A}/events", params={"since": "2-0"})).json()["events"] == []
    for ws in (staff_a, staff_b, board_b):
        await ws.close()
