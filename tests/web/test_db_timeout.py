"""A PostgreSQL that holds a write past `db_statement_timeout_secs` (a row lock held by another session):
the PATCH is answered 503 with the contract's body and nothing is saved, and the next write goes through."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from tests.support import SETUP, portal_runner
from whiteboard.app import create_app
from whiteboard.settings import Settings

WARD = "ward-to"


@pytest.mark.parametrize("settings", ["redis+postgresql"], indirect=True)
def test_a_write_blocked_past_the_statement_timeout_is_503(settings: Settings) -> None:
    app = create_app(settings.replace(db_statement_timeout_secs=0.5))
    with TestClient(app) as client:
        run = portal_runner(client)
        state = app.state.wb
        run(state.store.add_wards([(WARD, "Ward", [("B1", "Bay 1")])], actor=SETUP))
        _, token = run(state.store.create_credential("nurse", (WARD,), "t", actor=SETUP))
        headers = {"Authorization": f"Bearer {token}"}
        url = make_url(settings.database_url)

        async def lock() -> Any:
            conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, database=url.database)
            await conn.execute("BEGIN")
            await conn.execute("SELECT 1 FROM wards WHERE id = $1 FOR UPDATE", WARD)
            return conn

        conn = run(lock())
        try:
            r = client.patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "blocked"}, headers=headers)
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "unavailable"
        finally:
            run(conn.close())
        r = client.patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "after"}, headers=headers)
        assert r.status_code == 200 and r.json()["offset"] == "1-0"  # the blocked one saved nothing
