"""Fixtures of the fault suite: our own Redis and PostgreSQL processes, a `Rig` per scenario, the profile.

`WHITEBOARD_FAULTS_PROFILE=quick` (the default, in the README's test command) keeps every scenario to a few
seconds of load and a few faults; `long` (`scripts/faults`) runs more rounds and longer loads.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.harness import Rig
from tests.faults.services import PostgresCluster, RedisServer
from tests.support import DB_PREFIX


@dataclass(frozen=True)
class Profile:
    name: str
    rounds: int  # faults per scenario
    load_secs: float  # load between faults
    storm_clients: int
    examples: int  # hypothesis examples of the model-based test
    steps: int


PROFILES = {
    "quick": Profile("quick", rounds=2, load_secs=1.0, storm_clients=2000, examples=3, steps=8),
    "long": Profile("long", rounds=8, load_secs=3.0, storm_clients=5000, examples=25, steps=20),
}


@pytest.fixture(scope="session")
def profile() -> Profile:
    name = os.environ.get("WHITEBOARD_FAULTS_PROFILE", "quick")
    if name not in PROFILES:
        raise pytest.UsageError(f"WHITEBOARD_FAULTS_PROFILE={name!r}: use one of {', '.join(PROFILES)}")
    return PROFILES[name]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster of our own per test process (initdb costs seconds); scenarios may restart it."""
    cluster = PostgresCluster().init().start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def own_database(pg_cluster: PostgresCluster) -> str:
    if pg_cluster.proc is None or pg_cluster.proc.poll() is not None:
        pg_cluster.start()  # a scenario that failed mid-restart leaves it down
    return pg_cluster.create_database(f"{DB_PREFIX}_f{uuid.uuid4().hex[:10]}")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start Redis servers of our own (`persistent=False`: no AOF); all are killed afterwards."""
    started: list[RedisServer] = []

    def make(persistent: bool = True) -> RedisServer:
        r = RedisServer(tmp_path / f"redis-{len(started)}", persistent=persistent).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.kill()


@pytest.fixture
def rig_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(database_url: str, redis_url: str | None = None, *, redis_truth_url: str | None = None) -> Rig:
        rig = Rig(
            tmp_path,
            database_url,
            redis_url=redis_url,
            redis_truth_url=redis_truth_url or redis_url,
            redis_prefix=f"wbf{uuid.uuid4().hex[:8]}",
        )
        rigs.append(rig)
        return rig

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for rig in rigs:
        rig.close(failed)
