"""Scenario 5: PostgreSQL (a cluster of our own) restarted under load.

Proves: while it is down, writes are answered 503 with the contract's error body and write nothing; reads
keep serving the ward from the instance's memory; `/readyz` answers 503 naming the database; and once it
is back, every write acknowledged before or after is in the database once, the log has every committed
change once, and every client converges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from tests.faults.harness import Rig
from tests.faults.profiles import Profile
from tests.faults.services import PostgresCluster, RedisServer


def test_postgres_restarted_under_load(
    rig_factory: Callable[..., Rig],
    redis_server: Callable[..., RedisServer],
    pg_cluster: PostgresCluster,
    own_database: str,
    profile: Profile,
) -> None:
    rig = rig_factory(own_database, redis_server().url)
    s = rig.server()
    rig.prepare()
    s.start()
    rig.watch(per_ward=2)
    rig.load(per_ward=2, pause=0.02)
    ward = next(iter(rig.wards))
    display = rig.tokens[f"display:{ward}"]
    reads: list[int] = []
    ready: list[tuple[int, str]] = []
    for _ in range(profile.rounds):
        time.sleep(profile.load_secs)
        pg_cluster.stop("immediate")  # like a crash: recovery at start-up
        stop = threading.Event()

        def probe(stop: threading.Event = stop) -> None:
            with httpx.Client(base_url=s.url, timeout=10) as c:
                while not stop.is_set():
                    r = c.get(f"/api/wards/{ward}", headers={"Authorization": f"Bearer {display}"})
                    reads.append(r.status_code)
                    z = c.get("/readyz")
                    ready.append((z.status_code, z.json()["checks"]["database"]["status"]))
                    time.sleep(0.1)

        t = threading.Thread(target=probe)
        t.start()
        time.sleep(1.5)
        stop.set()
        t.join(30)
        pg_cluster.start()
    time.sleep(profile.load_secs)
    report = rig.verify()
    assert report["refused_503"] >= 1, "no write was refused while the database was down"
    assert reads and set(reads) == {200}, f"reads during the outage: {sorted(set(reads))}"
    assert (503, "down") in ready, f"/readyz during the outage: {sorted(set(ready))}"
