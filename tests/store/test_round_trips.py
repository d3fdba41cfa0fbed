"""Statements per bed write: on PostgreSQL each is a network round trip, so the write folds its four into one;
on SQLite the hot ones run on the driver's cursor (store/prepared.py), so SQLite's own trace counts them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support import SETUP
from whiteboard.domain.beds import parse_patch
from whiteboard.store import Actor, Store, WriteRequest, Written

NURSE = Actor(name="RN Test", role="nurse", credential_id="c1", source="api")


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


async def test_a_bed_write_costs_few_statements(store: Store, statements: list[str]) -> None:
    ward = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward, ward, [("B1", "Bay 1")])], actor=SETUP)
    statements.clear()
    driver, traced = None, list[str]()
    if store.name == "sqlite":  # the writer's connection, kept since add_wards: every statement it runs
        assert store._writer_conn is not None
        driver = store._writer_conn.connection.driver_connection
        assert driver is not None
        driver.set_trace_callback(traced.append)
    try:
        [written] = await store.apply_batch([WriteRequest(ward, "B1", parse_patch({"notes": "n1"}), NURSE)])
    finally:
        if driver is not None:
            driver.set_trace_callback(None)
    assert isinstance(written, Written) and written.seq == 1
    sent = [s.split()[0].upper() for s in (traced if driver is not None else statements)]
    if store.name == "postgresql":
        # Lock the ward, read the bed, then bed + outbox + audit + ward sequence in one statement.
        assert sent == ["SELECT", "SELECT", "WITH"], statements
    else:
        assert sent == ["BEGIN", "SELECT", "SELECT", "UPDATE", "INSERT", "INSERT", "UPDATE", "COMMIT"], statements
    state = await store.load_ward(ward)
    assert state is not None and state.seq == 1
    assert (await store.verify_audit())[2] is None
    [record] = [r for r in await store.audit(ward=ward) if r["offset"] == "1-0"]
    assert record["after"]["notes"] == "n1"
    [row] = await store.outbox_rows(ward, 0, 1)
    assert row.seq == 1
