"""The outbox relay's per-ward lease: on PostgreSQL one instance at a time sweeps a ward's backlog (an
advisory lock, released with its transaction or its session); SQLite serves one instance and always grants it."""

from __future__ import annotations

import pytest

from whiteboard.store import Store, open_store


async def test_one_instance_at_a_time_holds_a_wards_lease(store: Store) -> None:
    other = open_store(store.url)
    await other.connect()
    try:
        async with store.outbox_lease("w1") as mine:
            assert mine
            async with other.outbox_lease("w1") as theirs, other.outbox_lease("w2") as another_ward:
                assert theirs is store.is_sqlite  # PostgreSQL: taken; SQLite: one instance, always granted
                assert another_ward
        async with other.outbox_lease("w1") as theirs:
            assert theirs  # released with the block
    finally:
        await other.aclose()


async def test_a_lease_is_released_when_its_block_fails(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.outbox_lease("w1") as mine:
            assert mine
            raise RuntimeError("the event log went away mid-sweep")
    other = open_store(store.url)
    await other.connect()
    try:
        async with other.outbox_lease("w1") as theirs:
            assert theirs
    finally:
        await other.aclose()
