"""Shared fixtures: real Redis and PostgreSQL (never fakes), fresh databases, unique key prefixes.

`scripts/test` starts the services and exports their URLs; run directly, the defaults are the
machine's own services on 127.0.0.1. A missing service fails the run with what to do, rather than
skipping the tests that need it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_sync
from sqlalchemy.engine import make_url

from tests.e2e.server import ServerProcess
from tests.redis_topologies import ClusterTopology, RedisNode, SentinelTopology
from tests.support import (
    ARTIFACTS,
    DB_PREFIX,
    POSTGRES_URL,
    REDIS_PREFIX_BASE,
    REDIS_URL,
    SETUP,
    InProcessSite,
    RedisPrefixes,
    delete_redis_keys,
)
from whiteboard.settings import Settings
from whiteboard.store import create_private_sqlite_file


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis_sync.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}); run the suite with scripts/test, which starts it")
    return REDIS_URL


@pytest.fixture(scope="session")
def redis_prefixes(redis_url: str) -> Iterator[RedisPrefixes]:
    prefixes = RedisPrefixes(redis_url)
    yield prefixes
    prefixes.delete_all()


@pytest.fixture
def redis_prefix(redis_prefixes: RedisPrefixes) -> Iterator[str]:
    """A key prefix no other test (or run) uses; its keys are deleted afterwards."""
    prefix = redis_prefixes.new()
    yield prefix
    delete_redis_keys(redis_prefixes.redis_url, prefix)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
        timeout=5,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class PostgresDatabases:
    """Creates throwaway databases on the test server and drops them at the end of the session."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def new(self) -> str:
        name = f"{DB_PREFIX}_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.created:
            try:
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception:
                pass


@pytest.fixture(scope="session")
def pg_databases() -> PostgresDatabases:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} does not answer ({exc}); run the suite with scripts/test")
    dbs = PostgresDatabases()
    _PG_SESSIONS.append(dbs)
    return dbs


_PG_SESSIONS: list[PostgresDatabases] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the throwaway databases after the last test, outside every test's timeout: each DROP DATABASE waits
    for a checkpoint, seconds apiece on a busy shared server, and a suite creates over a hundred of them."""
    for dbs in _PG_SESSIONS:
        dbs.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests run against a SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wb.db'}"
    dbs: PostgresDatabases = request.getfixturevalue("pg_databases")
    return dbs.new()


@pytest.fixture(params=["memory", "redis"])
def eventlog_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[object]:
    from whiteboard.store import migrate, open_store

    await migrate.upgrade(database_url)
    s = open_store(database_url)
    await s.connect()
    yield s
    await s.aclose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- real `whiteboard serve` processes (tests/e2e/server.py) ---


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def servers(request: pytest.FixtureRequest) -> Iterator[list[ServerProcess]]:
    """Servers a test starts are stopped afterwards, then their Redis keys deleted (they write until they stop);
    their logs are printed when the test failed."""
    started: list[ServerProcess] = []
    yield started
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for s in started:
        s.stop()
        if failed:
            print(f"\n--- server on port {s.port} (log {s.log_path}) ---\n{s.output()}")
    for s in started:
        # Only a test's own prefixes: never the keys of a deployment that shares this Redis.
        if s.redis_url and s.redis_prefix.startswith(f"{REDIS_PREFIX_BASE}-"):
            delete_redis_keys(s.redis_url, s.redis_prefix)


@pytest.fixture(params=["embedded", "redis+postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str | None]:
    """The end-to-end suite runs on the embedded default and on the production parts."""
    if request.param == "embedded":
        return {"database_url": f"sqlite:///{tmp_path / 'wb.db'}", "redis_url": None, "redis_prefix": "wb"}
    dbs = request.getfixturevalue("pg_databases")
    return {
        "database_url": dbs.new(),
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_prefix": request.getfixturevalue("redis_prefix"),
    }


@pytest.fixture
def make_server(
    servers: list[ServerProcess], backend: dict[str, str | None], tmp_path: Path
) -> Callable[..., ServerProcess]:
    def make(**kw: object) -> ServerProcess:
        # As if the server had run here before: tests set up wards and tokens with the CLI before `start()`,
        # and the CLI refuses to create a database (only `serve` and `db upgrade` do).
        create_private_sqlite_file(str(backend["database_url"]))
        s = ServerProcess(
            database_url=str(backend["database_url"]),
            redis_url=backend["redis_url"],
            redis_prefix=str(backend["redis_prefix"]),
            workdir=tmp_path,
            **kw,  # type: ignore[arg-type]
        )
        servers.append(s)
        return s

    return make


# --- settings for the in-process app (Starlette's TestClient) ---


@pytest.fixture(params=["embedded", "redis+postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The app's settings on the embedded default and on PostgreSQL + Redis (small bodies, to test the limit)."""
    if request.param == "embedded":
        return Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}", max_body_bytes=4096)
    return Settings(
        database_url=request.getfixturevalue("pg_databases").new(),
        redis_url=request.getfixturevalue("redis_url"),
        redis_key_prefix=request.getfixturevalue("redis_prefix"),
        max_body_bytes=4096,
    )


@pytest.fixture
def app_site_settings() -> dict[str, object]:
    """Settings for `app_site` beyond the database; a test module overrides it with `pytest.mark.parametrize`."""
    return {}


@pytest.fixture
def app_site(tmp_path: Path, app_site_settings: dict[str, object]) -> Iterator[InProcessSite]:
    """Embedded backends (SQLite file, in-process log): one ward of four beds, another ward, tokens per role."""
    from starlette.testclient import TestClient

    from whiteboard.app import create_app
    from whiteboard.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'site.db'}",
        max_body_bytes=4096,
        **app_site_settings,  # type: ignore[arg-type]
    )
    app = create_app(settings)
    with TestClient(app) as client:
        s = InProcessSite(client, app, {})
        store = app.state.wb.store
        s.run(store.add_wards([(s.WARD, s.WARD_NAME, [(f"B{i}", "Bay 1") for i in range(1, 5)])], actor=SETUP))
        s.run(store.add_wards([("ward-quiet", "Quiet Ward", [("B1", "Bay 1")])], actor=SETUP))
        for role, wards in [("admin", None), ("nurse", (s.WARD,)), ("display", (s.WARD,)), ("ops", None),
                            ("ward_manager", (s.WARD,))]:  # fmt: skip
            s.tokens[role] = s.run(store.create_credential(role, wards, f"site {role}", actor=SETUP))[1]  # type: ignore[index]
        yield s


# --- real Redis Sentinel and Cluster topologies (tests/redis_topologies.py) ---


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelTopology]:
    """One Sentinel group (1 primary + 2 replicas + 3 sentinels) per test session; never killed or paused (a test
    that does uses `sentinel_topology` for its own)."""
    with SentinelTopology(tmp_path_factory.mktemp("sentinel")) as group:
        yield group


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterTopology]:
    """One three-master Redis Cluster per test session, shared (tests use their own key prefixes)."""
    with ClusterTopology(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def solo_redis(tmp_path: Path) -> Iterator[RedisNode]:
    """A redis-server of the test's own (to pause or kill); stopped by PID afterwards."""
    server = RedisNode(tmp_path, "solo", [])
    server.start()
    yield server
    server.kill()


@pytest.fixture
def sentinel_topology(tmp_path: Path) -> Iterator[Callable[[], SentinelTopology]]:
    """Start a Sentinel group of the test's own (to kill or pause its primary); stopped by PID afterwards."""
    started: list[SentinelTopology] = []

    def start() -> SentinelTopology:
        group = SentinelTopology(tmp_path / f"sentinel-{len(started)}")
        started.append(group)
        group.start()
        return group

    yield start
    for group in started:
        group.stop()


@pytest.fixture
def cluster_topology(tmp_path: Path) -> Iterator[Callable[..., ClusterTopology]]:
    """Start a Redis Cluster of the test's own (to kill a master; `replicas=1` for one that fails over); stopped
    by PID afterwards."""
    started: list[ClusterTopology] = []

    def start(replicas: int = 0) -> ClusterTopology:
        cluster = ClusterTopology(tmp_path / f"cluster-{len(started)}", replicas=replicas)
        started.append(cluster)
        cluster.start()
        return cluster

    yield start
    for cluster in started:
        cluster.stop()
