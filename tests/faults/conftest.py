"""Fixtures of the fault suite: our own Redis and PostgreSQL processes, a `Rig` per scenario, the profile.

The profile (`profiles.py`) comes from `WHITEBOARD_FAULTS_PROFILE`: `quick` in the README's test command,
`long` from `scripts/faults`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Rig
from tests.faults.profiles import Profile, current_profile
from tests.faults.services import PostgresCluster, RedisServer
from tests.support import DB_PREFIX


@pytest.fixture(scope="session")
def profile() -> Profile:
    return current_profile()


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fault scenarios restart processes several times over: bounded, but past the suite's 120 s default on a
    busy machine (the long profile's model-based test runs for many minutes)."""
    timeout = 420 if current_profile().name == "quick" else 3600
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(timeout))
