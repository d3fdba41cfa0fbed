"""Retention end to end, on the in-process log and on a real Redis: the server's periodic run (on its own
injected clock) purges a discharged patient from the database and drops the events written before the cut-off
from the ward's log, so their identifiers are gone from it too; a client resuming from before the cut-off gets
a snapshot saying so (WebSocket) or 410 (HTTP), one resuming after it still gets the missed events."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support import SETUP, InProcessSite
from whiteboard.app import create_app
from whiteboard.domain.clock import utc_now
from whiteboard.eventlog import EventLog
from whiteboard.eventlog.trim import entry_time
from whiteboard.settings import Settings
from whiteboard.store import Store
from whiteboard.store.retention import ACTION

WARD = "ward-ret"
URL = f"/ws/wards/{WARD}"
ADA = {"name": "Ada Lovelace", "nhs_number": "9434765919"}


@pytest.fixture(params=["memory", "redis"])
def log_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    return {
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_key_prefix": request.getfixturevalue("redis_prefix"),
    }


def frame(ws: Any) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = ws.receive_json()
        if msg["type"] != "heartbeat":
            return msg


def until(check: Any, what: str) -> Any:
    """Poll `check` (the periodic task and the relay run on the app's loop) for at most 20 s."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_retention_run_trims_old_events_and_old_positions_resync(
    tmp_path: Path, log_settings: dict[str, Any]
) -> None:
    moment: list[dt.datetime | None] = [None]  # the server's clock: real time until the test moves it
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'wb.db'}", retention_days=30, retention_sweep_secs=0.2,
        heartbeat_secs=0.05, **log_settings,
    )  # fmt: skip
    app = create_app(settings, clock=lambda: moment[0] or utc_now())
    with TestClient(app) as client:
        s = InProcessSite(client, app, {})
        store: Store = app.state.wb.store
        eventlog: EventLog = app.state.wb.eventlog
        s.run(store.add_wards([(WARD, WARD, [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP))
        s.tokens["nurse"] = s.run(store.create_credential("nurse", (WARD,), "nurse", actor=SETUP))[1]  # type: ignore[index]
        [log] = [w.log for w in s.run(store.list_wards()) if w.id == WARD]  # type: ignore[attr-defined]

        def patch(bed: str, body: dict[str, Any]) -> None:
            r = client.patch(f"/api/wards/{WARD}/beds/{bed}", json=body, headers=s.as_("nurse"))
            assert r.status_code == 200, r.text

        def entries() -> list[Any]:
            return list(s.run(eventlog.read(log, 0, 100))[1])  # type: ignore[index]

        patch("B1", {"patient": ADA, "notes": "Ada's daughter calls"})
        patch("B1", {"status": "cleaning", "patient": None, "notes": ""})
        old = until(lambda: len(entries()) == 2 and entries(), "the old events in the log")
        assert b"Ada Lovelace" in old[0].payload
        stamped = entry_time(old[-1].payload)
        assert stamped is not None
        cutoff = stamped + dt.timedelta(milliseconds=1)
        while utc_now() < cutoff:  # events are stamped to the millisecond: the next ones are after the cut-off
            pass
        patch("B2", {"notes": "after the cut-off"})
        patch("B2", {"notes": "still kept"})
        until(lambda: len(entries()) == 4, "the new events in the log")
        assert all(entry_time(e.payload) >= cutoff for e in entries()[2:])  # type: ignore[operator]
        with client.websocket_connect(URL, headers=s.as_("nurse")) as ws:
            epoch = frame(ws)["epoch"]

        moment[0] = cutoff + dt.timedelta(days=30)  # 30 days on: the first two events are past the period
        kept = until(lambda: (got := entries()) and got[0].seq == 3 and got, "the retention run's trim")
        assert [e.seq for e in kept] == [3, 4]
        text = b"".join(e.payload for e in kept)
        assert b"Ada" not in text and b"9434765919" not in text
        records = until(lambda: (r := s.run(store.audit(ward=WARD)))[0]["action"] == ACTION and r, "the purge")  # type: ignore[index]
        assert "9434765919" not in repr(records)

        with client.websocket_connect(f"{URL}?since=1-0&epoch={epoch}", headers=s.as_("nurse")) as ws:
            snap = frame(ws)
        assert (snap["type"], snap["recovered"], snap["offset"]) == ("snapshot", False, "4-0")
        assert "Ada" not in repr(snap)  # the snapshot is the beds now (B1 emptied, notes cleared)
        with client.websocket_connect(f"{URL}?since=2-0&epoch={epoch}", headers=s.as_("nurse")) as ws:
            got = [frame(ws), frame(ws), frame(ws)]
        assert [(f["type"], f["offset"]) for f in got] == [("event", "3-0"), ("event", "4-0"), ("resumed", "4-0")]
        assert got[2]["recovered"] is True

        gone = client.get(f"/api/wards/{WARD}/events", params={"since": "0-0"}, headers=s.as_("nurse"))
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "gone"
        newer = client.get(f"/api/wards/{WARD}/events", params={"since": "2-0"}, headers=s.as_("nurse"))
        assert newer.status_code == 200 and [e["offset"] for e in newer.json()["events"]] == ["3-0", "4-0"]
