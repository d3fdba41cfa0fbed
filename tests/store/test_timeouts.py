"""PostgreSQL that does not answer: the store gives up within its bounds (`PoolLimits`) and says so
(StoreUnavailable, which the API answers 503), never hanging a request.

Real PostgreSQL throughout: a row lock held by another connection, the pool's only connection taken, a
server address that accepts TCP and never speaks. The outer `asyncio.timeout` is a hang detector (far above
the bound under test), not a speed assertion.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support import SETUP, free_port, write_one
from whiteboard.domain.beds import parse_patch
from whiteboard.store import Actor, PoolLimits, Store, StoreUnavailable, WriteRequest, migrate, open_store

NURSE = Actor(name="RN Test", role="nurse", credential_id="c1", source="api")
HANG_SECS = 15.0  # far beyond every bound below: reaching it means the store hung
QUICK = PoolLimits(size=1, max_overflow=0, timeout_secs=0.5, connect_secs=0.5, statement_secs=0.5)


@pytest.fixture
def pg_url(pg_databases: Any) -> str:
    return str(pg_databases.new())


@pytest.fixture
async def quick_store(pg_url: str) -> AsyncIterator[Store]:
    await migrate.upgrade(pg_url)
    store = open_store(pg_url, QUICK)
    await store.connect()
    yield store
    await store.aclose()


async def other_connection(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
        database=parsed.database, timeout=5,
    )  # fmt: skip


async def locked_ward(store: Store, url: str) -> tuple[str, asyncpg.Connection, Any]:
    """A ward whose row another connection holds FOR UPDATE (as a stuck transaction would)."""
    ward = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward, ward, [("B1", "Bay 1")])], actor=SETUP)
    conn = await other_connection(url)
    tx = conn.transaction()
    await tx.start()
    await conn.execute("SELECT 1 FROM wards WHERE id = $1 FOR UPDATE", ward)
    return ward, conn, tx


def bed_write(ward: str, notes: str) -> WriteRequest:
    return WriteRequest(ward, "B1", parse_patch({"notes": notes}), NURSE)


async def test_a_write_blocked_past_statement_timeout_is_unavailable_and_saves_nothing(
    quick_store: Store, pg_url: str
) -> None:
    ward, conn, tx = await locked_ward(quick_store, pg_url)
    try:
        async with asyncio.timeout(HANG_SECS):
            with pytest.raises(StoreUnavailable, match="statement timeout|canceling statement"):
                await write_one(quick_store, bed_write(ward, "blocked"))
    finally:
        await tx.rollback()
        await conn.close()
    # The pool's one connection came back sound: the next write goes through, and the blocked one left nothing.
    written = await write_one(quick_store, bed_write(ward, "after"))
    assert written.seq == 1
    state = await quick_store.load_ward(ward)
    assert state is not None and state.seq == 1 and [b["notes"] for b in state.beds] == ["after"]


async def test_no_free_pooled_connection_is_unavailable_within_pool_timeout(pg_url: str) -> None:
    await migrate.upgrade(pg_url)
    store = open_store(pg_url, PoolLimits(size=1, max_overflow=0, timeout_secs=0.5, statement_secs=3.0))
    await store.connect()
    ward, conn, tx = await locked_ward(store, pg_url)
    try:
        blocked = asyncio.create_task(write_one(store, bed_write(ward, "holds the only connection")))
        await asyncio.sleep(0.2)
        async with asyncio.timeout(HANG_SECS):
            with pytest.raises(StoreUnavailable, match="TimeoutError"):
                await store.ping()  # the pool (size 1, no overflow) has nothing to give while the write waits
        with pytest.raises(StoreUnavailable):
            await blocked  # and the write itself ends at the statement timeout
    finally:
        await tx.rollback()
        await conn.close()
        await store.aclose()


async def test_a_server_that_accepts_and_never_answers_is_unavailable_within_connect_timeout() -> None:
    """A blackholed address (TCP accepted, not one byte back): the connect timeout ends the wait."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    port = free_port()
    server = await asyncio.start_server(silent, "127.0.0.1", port)
    store = open_store(f"postgresql://postgres@127.0.0.1:{port}/nothing", QUICK)
    await store.connect()
    try:
        async with asyncio.timeout(HANG_SECS):
            with pytest.raises(StoreUnavailable):
                await store.ping()
            with pytest.raises(StoreUnavailable):
                await write_one(store, bed_write("w", "never"))
        assert accepted  # it did reach the silent server: the bound was the connect timeout, not a refusal
    finally:
        await store.aclose()
        for w in accepted:
            w.close()
        server.close()
        await server.wait_closed()


async def test_the_session_limits_reach_the_server(quick_store: Store) -> None:
    """statement_timeout and idle_in_transaction_session_timeout are set on every pooled connection."""
    from sqlalchemy import text

    def show(conn: Any) -> tuple[str, str]:
        return (
            conn.execute(text("SHOW statement_timeout")).scalar_one(),
            conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one(),
        )

    assert await quick_store.read(show) == ("500ms", "30s")
