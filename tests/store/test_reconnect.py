"""PostgreSQL connections lost under the pool: no per-checkout ping, and still no failed, lost or doubled write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import make_url

from tests.support import SETUP, free_port
from whiteboard.domain.beds import parse_patch
from whiteboard.store import Actor, Store, StoreUnavailable, WriteRequest, Written, migrate, open_store

NURSE = Actor(name="RN Test", role="nurse", credential_id="c1", source="api")


@pytest.fixture
def pg_url(pg_databases: Any) -> str:
    return str(pg_databases.new())  # a synchronous fixture: it runs its own event loop


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[Store]:
    url = pg_url
    await migrate.upgrade(url)
    store = open_store(url)
    await store.connect()
    yield store
    await store.aclose()


async def terminate_connections(url: str) -> int:
    """End every server backend connected to this test's own database (as a restart or failover would)."""
    parsed = make_url(url)
    admin: asyncpg.Connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username or "postgres",
        password=parsed.password, database="postgres", timeout=5,
    )  # fmt: skip
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            parsed.database,
        )
        return len(rows)
    finally:
        await admin.close()


async def make_ward(store: Store) -> str:
    ward = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward, ward, [("B1", "Bay 1")])], actor=SETUP)
    return ward


async def write(store: Store, ward: str, notes: str) -> Written:
    [result] = await store.apply_batch([WriteRequest(ward, "B1", parse_patch({"notes": notes}), NURSE)])
    assert isinstance(result, Written)
    return result


async def test_writes_after_the_servers_connections_died_succeed_once(pg_store: Store) -> None:
    """Every pooled connection killed server-side: the next write and read reconnect and happen exactly once."""
    ward = await make_ward(pg_store)
    first = await write(pg_store, ward, "before")
    await asyncio.gather(*(pg_store.load_ward(ward) for _ in range(4)))  # several connections in the pool
    assert await terminate_connections(pg_store.url) >= 1
    second = await write(pg_store, ward, "after")
    assert second.seq == first.seq + 1
    state = await pg_store.load_ward(ward)
    assert state is not None and state.seq == second.seq
    notes = [r["after"].get("notes") for r in await pg_store.audit(ward=ward) if r["action"].startswith("bed.")]
    assert notes.count("after") == 1 and notes.count("before") == 1
    assert (await pg_store.verify_audit())[2] is None
    assert await terminate_connections(pg_store.url) >= 1
    assert (await pg_store.load_ward(ward)) is not None  # a read reconnects the same way


async def test_a_write_checks_out_a_connection_without_a_ping(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool no longer pings on checkout (asyncpg's ping is BEGIN, `;`, ROLLBACK: three round trips)."""
    ward = await make_ward(pg_store)
    pings: list[object] = []
    original = PGDialect_asyncpg.do_ping

    def counting_ping(self: PGDialect_asyncpg, dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return bool(original(self, dbapi_connection))  # type: ignore[no-untyped-call]

    monkeypatch.setattr(PGDialect_asyncpg, "do_ping", counting_ping)
    for i in range(3):
        await write(pg_store, ward, f"n{i}")
    assert pings == []


async def test_an_unreachable_server_is_unavailable_not_a_crash() -> None:
    store = open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    await store.connect()
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.apply_batch([WriteRequest("w", "B1", parse_patch({"notes": "x"}), NURSE)])
    finally:
        await store.aclose()
