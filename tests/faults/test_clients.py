"""Scenario 7: clients that hurt: ones that stop reading, and a reconnect storm of thousands after a restart.

A client that stops reading is closed with 1013 (resume later by offset) while every other client keeps
receiving every event once. After a server restart, thousands of lean clients reconnect at once with
`since`/`epoch`: every one resumes (`resumed`, recovered) and none misses or repeats an event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from tests.conftest import PostgresDatabases
from tests.e2e.wsclient import raw_upgrade, read_close_code
from tests.faults.harness import Rig
from tests.faults.lean import LeanClient
from tests.faults.profiles import Profile
from tests.faults.services import RedisServer

SLOW_CLIENTS = 3


def test_clients_that_stop_reading_are_closed_1013_without_hurting_others(
    rig_factory: Callable[..., Rig], redis_server: Callable[..., RedisServer], pg_databases: PostgresDatabases
) -> None:
    rig = rig_factory(pg_databases.new(), redis_server().url)
    s = rig.server(WHITEBOARD_WS_QUEUE_SIZE="16", WHITEBOARD_WS_SEND_BUFFER_BYTES="16384")
    rig.prepare(wards=("ward-fa",))
    s.start()
    ward = next(iter(rig.wards))
    slow = [raw_upgrade(s.port, f"/ws/wards/{ward}", rig.tokens["nurse"], rcvbuf=2048) for _ in range(SLOW_CLIENTS)]
    rig.watch(per_ward=4)
    rig.load(per_ward=4, pause=0.005, bulky=True)  # ~6 KB events, as fast as the server takes them
    metric = 'whiteboard_ws_closed_total{reason="slow_client"} ' + f"{SLOW_CLIENTS}.0"
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {rig.tokens['ops']}"}, timeout=10) as c:
        while metric not in c.get("/metrics").text:
            assert time.monotonic() < deadline, "the clients that stopped reading were not closed in 60 s"
            time.sleep(0.2)
    codes = [read_close_code(sock) for sock in slow]
    for sock in slow:
        sock.close()
    time.sleep(1.0)  # the others carry on under load
    rig.verify()
    assert codes == [1013] * SLOW_CLIENTS, codes
    assert all(len(w.log.connections) == 1 for w in rig.watchers), "a reading client was disconnected"


def test_reconnect_storm_after_a_restart(
    rig_factory: Callable[..., Rig],
    redis_server: Callable[..., RedisServer],
    pg_databases: PostgresDatabases,
    profile: Profile,
) -> None:
    rig = rig_factory(pg_databases.new(), redis_server().url)
    s = rig.server()
    rig.prepare(wards=("ward-s1", "ward-s2", "ward-s3", "ward-s4"))
    s.start()
    wards = list(rig.wards)
    clients: list[LeanClient] = []
    for i in range(profile.storm_clients):
        ward = wards[i % len(wards)]
        role = "nurse" if i % 10 == 0 else "display"  # a tenth staff (their resumes are audited writes)
        token = rig.tokens["nurse" if role == "nurse" else f"display:{ward}"]
        log = rig.checker.client(f"lean{i}", ward, role, keep_board=False)
        clients.append(LeanClient("127.0.0.1", [s.port], ward, token, log))

    async def connect_all() -> None:
        for c in clients:
            asyncio.get_running_loop().create_task(c.run())
            await asyncio.sleep(0.002)  # ~500 connects a second: the initial connect is not the storm
        while any(c.log.seq is None for c in clients):
            await asyncio.sleep(0.1)

    rig.loop.call(connect_all(), timeout=90)
    rig.load(per_ward=1, pause=0.2)
    time.sleep(profile.load_secs)
    s.kill()  # every connection drops at once; the clients retry within a second, jittered
    time.sleep(0.5)
    s.start()
    started = time.monotonic()
    time.sleep(profile.load_secs)

    async def stop_all() -> None:
        for c in clients:
            c.stopping = True

    report = rig.verify()
    rig.loop.call(stop_all())
    resumed = sum(
        1 for c in rig.checker.clients if any(f.kind == "resumed" for conn in c.connections[1:] for f in conn.frames)
    )
    print(f"storm: {len(clients)} clients, {resumed} resumed, verified {time.monotonic() - started:.1f} s after start")
    assert resumed == len(clients), f"only {resumed} of {len(clients)} clients resumed after the restart"
    assert report["snapshots_recovered_false"] == 0
