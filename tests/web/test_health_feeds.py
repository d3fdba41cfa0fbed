"""/readyz fails, naming the ward, while a ward's live feed from Redis is stuck, and is ready again after.

The app runs in-process on a real redis-server of the test's own, which is paused (SIGSTOP) under a
connected board and resumed (SIGCONT).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.redis_topologies import RedisNode
from tests.support import REDIS_PREFIX_BASE, SETUP, delete_redis_keys, portal_runner
from whiteboard.app import create_app
from whiteboard.settings import Settings

STALL_SECS = 6.0  # the setting's minimum: a little over the tail's 5 s block


def wait_for_readyz(client: TestClient, status: int, needle: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/readyz")
        body: dict[str, object] = r.json()
        if r.status_code == status and needle in r.text:
            return body
        assert time.monotonic() < deadline, f"/readyz never answered {status} with {needle!r}; last: {r.text}"
        time.sleep(0.2)


def test_readyz_names_the_ward_whose_feed_is_stuck_and_recovers(solo_redis: RedisNode, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'feeds.db'}",
        redis_url=f"redis://127.0.0.1:{solo_redis.port}/0",
        redis_key_prefix="feeds",
        eventlog_tail_stall_secs=STALL_SECS,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        run = portal_runner(client)
        store = app.state.wb.store
        run(store.add_wards([("ward-feed", "Feed Ward", [("B1", "Bay 1")])], actor=SETUP))
        token = run(store.create_credential("display", ("ward-feed",), "board", actor=SETUP))[1]
        with client.websocket_connect("/ws/wards/ward-feed", headers={"Authorization": f"Bearer {token}"}) as ws:
            assert ws.receive_json()["type"] == "snapshot"
            wait_for_readyz(client, 200, '"ready"')
            solo_redis.pause()
            try:
                body = wait_for_readyz(client, 503, "ward-feed")
            finally:
                solo_redis.resume()
            checks = body["checks"]
            assert isinstance(checks, dict) and checks["database"]["status"] == "ok"
            assert checks["eventlog"]["status"] == "down" and checks["eventlog"]["backend"] == "redis"
            assert "live feed of ward(s) ward-feed" in checks["eventlog"]["error"]
            assert "eventlog (redis)" in body["error"]["message"]  # type: ignore[index]
            wait_for_readyz(client, 200, '"ready"')


@pytest.mark.parametrize("topology", ["redis_sentinel", "redis_cluster"])
def test_the_app_serves_a_live_board_on_sentinel_and_on_cluster(
    topology: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The whole app on a real Sentinel group or Cluster: ready (naming the backend), and a change reaches a
    connected board through the shared log."""
    group = request.getfixturevalue(topology)
    prefix = f"{REDIS_PREFIX_BASE}-{uuid.uuid4().hex[:12]}"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'topo.db'}", redis_url=group.url(), redis_key_prefix=prefix
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            run = portal_runner(client)
            store = app.state.wb.store
            run(store.add_wards([("ward-topo", "Topology Ward", [("B1", "Bay 1")])], actor=SETUP))
            token = run(store.create_credential("nurse", ("ward-topo",), "phone", actor=SETUP))[1]
            auth = {"Authorization": f"Bearer {token}"}
            ready = wait_for_readyz(client, 200, '"ready"')
            backend = "redis-sentinel" if topology == "redis_sentinel" else "redis-cluster"
            assert ready["checks"]["eventlog"]["backend"] == backend  # type: ignore[index]
            with client.websocket_connect("/ws/wards/ward-topo", headers=auth) as ws:
                assert ws.receive_json()["type"] == "snapshot"
                r = client.patch("/api/wards/ward-topo/beds/B1", json={"notes": "via " + backend}, headers=auth)
                assert r.status_code == 200, r.text
                frame = ws.receive_json()
                while frame["type"] == "heartbeat":
                    frame = ws.receive_json()
                assert frame["type"] == "event" and frame["offset"] == "1-0"
    finally:
        delete_redis_keys(group.url(), prefix)
