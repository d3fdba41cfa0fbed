"""Three real instances on one PostgreSQL and one Redis, writing the same wards at once and sweeping one outbox.

A ward's seq is taken under its row lock inside the write's transaction, so commit order is seq order; the
relays append in that order (filling a gap from the outbox), and the sweepers take turns per ward (an
advisory lock). Afterwards, per ward: the log holds 1..seq with no gap, in the database's order (the audit's
seq and bed per change), every acknowledged write once, as acknowledged.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerProcess
from tests.e2e.test_shutdown import pg

WARDS = ("ward-m1", "ward-m2")
QUIET = "ward-m3"  # written once, by an instance that dies before relaying: only the sweepers can relay it
ENV = {"WHITEBOARD_WRITE_RATE_PER_MIN": "0", "WHITEBOARD_OUTBOX_SWEEP_SECS": "0.5"}


async def log_of(s: ServerProcess, token: str, ward: str) -> list[tuple[int, dict[str, Any]]]:
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        body = (await c.get(f"/api/wards/{ward}/events", params={"since": "0-0", "limit": 1000})).json()
    return [(int(e["offset"].split("-")[0]), e["event"]) for e in body["events"]]


async def write_round_robin(
    instances: list[ServerProcess], token: str, ward: str, bed: str, count: int
) -> list[tuple[int, str]]:
    """`count` PATCHes of one bed, each to the next instance: the ward is written through all of them at once."""
    acked: list[tuple[int, str]] = []
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.AsyncClient(base_url=s.url, headers=headers, timeout=20) for s in instances]
    try:
        for n, client in zip(range(count), itertools.cycle(clients), strict=False):
            notes = f"{bed} write {n}"
            r = await client.patch(f"/api/wards/{ward}/beds/{bed}", json={"notes": notes})
            assert r.status_code == 200, r.text
            acked.append((int(r.json()["offset"].split("-")[0]), notes))
    finally:
        for c in clients:
            await c.aclose()
    return acked


@pytest.mark.parametrize("backend", ["redis+postgresql"], indirect=True)
async def test_three_instances_writing_the_same_wards_keep_the_log_in_commit_order(
    make_server: Callable[..., ServerProcess], backend: dict[str, str | None]
) -> None:
    first = make_server(env=ENV)
    for ward in (*WARDS, QUIET):
        first.cli("ward", "add", ward, "--beds", "4", "--name", ward)
    instances = [first.start(), make_server(env=ENV).start(), make_server(env=ENV).start()]
    nurse = first.token("nurse")
    crasher = make_server(env={**ENV, "WHITEBOARD_TEST_CRASH_AFTER_COMMIT": "1"}).start()

    beds = [(ward, f"B0{b}") for ward in WARDS for b in range(1, 4)]  # six writers, three per ward
    results = await asyncio.gather(*(write_round_robin(instances, nurse, ward, bed, 25) for ward, bed in beds))
    async with httpx.AsyncClient(base_url=crasher.url, headers={"Authorization": f"Bearer {nurse}"}) as c:
        with pytest.raises(httpx.TransportError):  # committed, then the process exits before the append
            await c.patch(f"/api/wards/{QUIET}/beds/B01", json={"notes": "committed by the dead one"})
    assert await asyncio.to_thread(crasher.wait_exit, 15) == 70

    conn = await pg(str(backend["database_url"]))
    try:
        tops = dict(await conn.fetch("SELECT id, seq FROM wards"))
        changes = {
            ward: [(r["seq"], r["bed_id"]) for r in await conn.fetch(
                "SELECT seq, bed_id FROM audit WHERE ward_id = $1 AND seq IS NOT NULL ORDER BY seq", ward
            )]
            for ward in (*WARDS, QUIET)
        }  # fmt: skip
        notes = {(r["ward_id"], r["id"]): r["notes"] for r in await conn.fetch("SELECT ward_id, id, notes FROM beds")}
        for _ in range(100):  # the sweepers relay the dead instance's change
            if await conn.fetchval("SELECT count(*) FROM outbox") == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    assert tops[QUIET] == 1

    for ward in (*WARDS, QUIET):
        entries = await log_of(instances[1], nurse, ward)
        seqs = [seq for seq, _ in entries]
        assert seqs == list(range(1, tops[ward] + 1)), (ward, seqs)  # no gap, nothing twice
        assert [(seq, e["bed"]) for seq, e in entries] == changes[ward], ward  # the database's order
    for (ward, bed), acked in zip(beds, results, strict=True):
        in_log = dict(await log_of(instances[2], nurse, ward))
        assert all(in_log[seq]["changes"]["notes"] == note for seq, note in acked)
        assert notes[(ward, bed)] == acked[-1][1]
    [(_, event)] = await log_of(instances[0], nurse, QUIET)
    assert event["changes"]["notes"] == "committed by the dead one"
