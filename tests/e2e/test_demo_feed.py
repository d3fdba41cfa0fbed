"""`serve --demo` beside real wards: the simulated feed moves only the wards the demo seeded."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.e2e.server import ServerProcess

REAL = "ward-real"
# With five demo wards and the real one to pick from, 60 changes all missing the real ward would
# happen by chance once in ~50,000 runs: a feed that can touch it fails this test.
CHANGES = 60


def test_the_demo_feed_never_touches_a_ward_added_for_real(make_server: Callable[..., ServerProcess]) -> None:
    s = make_server(args=["--demo", "--demo-seed", "5"], env={"WHITEBOARD_DEMO_RATE": "1200"}).start()
    s.cli("ward", "add", REAL, "--beds", "4", "--name", "Real ward")
    admin = s.token("admin")
    with s.client(admin) as c:
        assert REAL in {w["id"] for w in c.get("/api/wards").json()}
        mark = max(a["id"] for a in c.get("/api/audit", params={"limit": 1}).json())
        deadline = time.monotonic() + 60
        fed: list[dict[str, Any]] = []
        while len(fed) < CHANGES and time.monotonic() < deadline:
            records = c.get("/api/audit", params={"limit": 1000}).json()
            fed = [a for a in records if a["id"] > mark and a["source"] == "demo" and a["offset"]]
            time.sleep(0.2)  # a poll interval, not a wait for something to happen
        assert len(fed) >= CHANGES, f"the feed made {len(fed)} changes in 60 s"
        assert REAL not in {a["ward"] for a in fed}
        real = c.get(f"/api/wards/{REAL}").json()
        assert real["offset"] == "0-0", real["offset"]  # not one change since it was created
        assert all(b["status"] == "empty" and b["patient"] is None and not b["notes"] for b in real["beds"])
        ward_created = [a for a in c.get("/api/audit", params={"ward": REAL}).json() if a["action"] == "ward.created"]
        assert [(a["source"], a["actor"].startswith("cli:")) for a in ward_created] == [("cli", True)]
