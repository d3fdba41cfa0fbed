"""The drain's parts in-process: readiness and upgrades while draining, batch sizes, 1012 for every ward socket.
(The whole of it with real processes and SIGTERM: tests/e2e/test_shutdown.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.support import SETUP, portal_runner
from whiteboard.app import create_app
from whiteboard.settings import Settings
from whiteboard.web import shutdown

WARD = "ward-sd"


def test_batches_are_small_and_finish_within_the_drain() -> None:
    assert shutdown.batch_size(0, 10) == shutdown.MIN_BATCH
    assert shutdown.batch_size(5000, 10) == 50  # 100 batches of 50, one per 0.1 s: 10 s
    assert shutdown.batch_size(5000, 1) == 500
    assert shutdown.batch_size(30, 0.05) == 30  # shorter than one interval: all in one go


def test_draining_turns_readiness_and_new_websockets_away(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'wb.db'}")
    app = create_app(settings)
    with TestClient(app) as client:
        run = portal_runner(client)
        state = app.state.wb
        run(state.store.add_wards([(WARD, "Ward", [("B1", "Bay 1")])], actor=SETUP))
        _, token = run(state.store.create_credential("nurse", (WARD,), "t", actor=SETUP))
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/readyz").status_code == 200
        with client.websocket_connect(f"/ws/wards/{WARD}", headers=headers) as ws:
            assert ws.receive_json()["type"] == "snapshot"
            state.draining = True
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "shutting down"
            assert ready.headers["connection"] == "close"
            assert client.get("/healthz").headers["connection"] == "close"  # every answer moves its client on
            with pytest.raises(WebSocketDisconnect):  # a new upgrade: 503, reconnect elsewhere
                with client.websocket_connect(f"/ws/wards/{WARD}", headers=headers):
                    pass
            assert run(shutdown.close_websockets(state, 1.0)) == 1  # the open one: 1012
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    ws.receive_json()
            assert closed.value.code == 1012
