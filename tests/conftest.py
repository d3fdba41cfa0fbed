"""Shared fixtures: real Redis and PostgreSQL (never fakes), fresh databases, unique key prefixes.

`scripts/test` starts the services and exports their URLs; run directly, the defaults are the
machine's own services on 127.0.0.1. A missing service fails the run with what to do, rather than
skipping the tests that need it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis as redis_sync
from sqlalchemy.engine import make_url

REDIS_URL = os.environ.get("WHITEBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("WHITEBOARD_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
ARTIFACTS = Path(os.environ.get("WHITEBOARD_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis_sync.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}); run the suite with scripts/test, which starts it")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test (or run) uses; its keys are deleted afterwards."""
    prefix = f"wbtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis_sync.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


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
        name = f"wbtest_{uuid.uuid4().hex[:12]}"
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
def pg_databases() -> Iterator[PostgresDatabases]:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} does not answer ({exc}); run the suite with scripts/test")
    dbs = PostgresDatabases()
    yield dbs
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
    return request.getfixturevalue("redis_url")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[object]:
    from whiteboard import migrate
    from whiteboard.store import open_store

    await migrate.upgrade(database_url)
    s = open_store(database_url)
    await s.connect()
    yield s
    await s.aclose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class InProcessSite:
    """The real app in-process (Starlette's TestClient runs its lifespan) with one ward and a token per role."""

    WARD = "ward-site"
    WARD_NAME = "Ward Site — Test"

    def __init__(self, client: object, app: object, tokens: dict[str, str]) -> None:
        from starlette.testclient import TestClient

        assert isinstance(client, TestClient)
        self.c = client
        self.app = app
        self.tokens = tokens

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def run(self, coro: object) -> object:
        """Run a coroutine on the app's own event loop (the store's objects live there)."""
        portal = self.c.portal
        assert portal is not None

        async def wrapper() -> object:
            return await coro  # type: ignore[misc]

        return portal.call(wrapper)

    def metric(self, name: str, **labels: str) -> float:
        """One sample from the app's registry (0 when absent)."""
        value = self.app.state.wb.metrics.registry.get_sample_value(name, labels)  # type: ignore[attr-defined]
        return float(value or 0.0)


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
        s.run(store.add_wards([(s.WARD, s.WARD_NAME, [(f"B{i}", "Bay 1") for i in range(1, 5)])]))
        s.run(store.add_wards([("ward-quiet", "Quiet Ward", [("B1", "Bay 1")])]))
        for role, wards in [("admin", None), ("nurse", (s.WARD,)), ("display", (s.WARD,)), ("ops", None),
                            ("ward_manager", (s.WARD,))]:  # fmt: skip
            s.tokens[role] = s.run(store.create_credential(role, wards, f"site {role}"))[1]  # type: ignore[index]
        yield s
