"""Scenario 6: a slow, a half-open and a reset network between the server and Redis, and PostgreSQL.

The server reaches the backend through the suite's fault proxy, which goes from `latency` (each chunk
held 200 ms) to `blackhole` (connections accepted, nothing forwarded: only timeouts notice) for longer
than the server's command timeouts, then `reset` (RST on every connection), then back to `pass`.
Proves: nothing hangs (every write is answered: 2xx, or 503 with the error body), `/readyz` names the
backend while it cannot be reached, nothing is lost or doubled, and everything converges afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.faults.harness import Rig
from tests.faults.profiles import Profile
from tests.faults.services import PostgresCluster, RedisServer

BLACKHOLE_SECS = 7.0  # over the Redis client's 5 s command timeout and the pool's 5 s connect timeout


@pytest.mark.parametrize("target", ["redis", "postgresql"])
def test_slow_half_open_and_reset_network(
    target: str,
    rig_factory: Callable[..., Rig],
    redis_server: Callable[..., RedisServer],
    pg_cluster: PostgresCluster,
    own_database: str,
    profile: Profile,
) -> None:
    redis = redis_server()
    if target == "redis":
        rig = rig_factory(own_database, redis.url)
        proxy = rig.proxy(redis.port)
        rig.redis_url = f"redis://127.0.0.1:{proxy.port}/0"
    else:
        rig = rig_factory(own_database, redis.url)
        proxy = rig.proxy(pg_cluster.port)
        rig.server_database_url = own_database.replace(f":{pg_cluster.port}/", f":{proxy.port}/")
    key = "eventlog" if target == "redis" else "database"
    s = rig.server()
    rig.prepare()
    s.start()
    rig.watch(per_ward=2)
    rig.load(per_ward=2, pause=0.03)
    ready: list[tuple[str, int, str]] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=s.url, timeout=15) as c:
            while not stop.is_set():
                z = c.get("/readyz")  # must itself answer: a hung probe fails the test by its timeout
                ready.append((proxy.mode, z.status_code, z.json()["checks"][key]["status"]))
                time.sleep(0.25)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        for _ in range(max(1, profile.rounds // 2)):
            proxy.set_mode("latency", 0.2)
            time.sleep(profile.load_secs)
            proxy.set_mode("blackhole")
            rig.drop_watchers(0.5, away_secs=0.2)
            time.sleep(BLACKHOLE_SECS)
            proxy.set_mode("reset")
            time.sleep(0.5)
            proxy.set_mode("pass")
            time.sleep(profile.load_secs)
    finally:
        stop.set()
        prober.join(30)
    rig.verify()
    down = [r for r in ready if r[0] == "blackhole" and r[1] == 503 and r[2] == "down"]
    assert down, f"/readyz never said {key} was down during the blackhole: {sorted(set(ready))}"
    assert any(r[0] == "pass" and r[1] == 200 for r in ready), "/readyz never recovered"
