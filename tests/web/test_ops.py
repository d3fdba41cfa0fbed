"""The ops figures: every ward with its name (also one nobody has opened and that has no events), refusals
by reason, and HTTP request rates and latency per route template."""

from __future__ import annotations

import time
from typing import Any

from tests.support import InProcessSite
from whiteboard.metrics import RouteSample, Sample, Sampler


def ops(s: InProcessSite) -> dict[str, Any]:
    r = s.c.get("/api/ops", headers=s.as_("ops"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_every_ward_is_listed_with_its_name_even_before_anyone_opens_it(app_site: InProcessSite) -> None:
    s = app_site
    assert s.c.get(f"/api/wards/{s.WARD}", headers=s.as_("nurse")).status_code == 200  # loads one ward's view
    rows = {row["ward"]: row for row in ops(s)["connections"]["wards"]}
    assert rows == {
        s.WARD: {"ward": s.WARD, "name": s.WARD_NAME, "total": 0, "by_role": {}, "offset": "0-0"},
        "ward-quiet": {"ward": "ward-quiet", "name": "Quiet Ward", "total": 0, "by_role": {}, "offset": None},
    }


def test_refusals_by_reason_and_requests_per_route(app_site: InProcessSite) -> None:
    s = app_site
    url = f"/api/wards/{s.WARD}/beds/B1"
    deadline = time.monotonic() + 5
    while ops(s)["http"]["window_secs"] == 0 and time.monotonic() < deadline:  # two samples, 0.5 s apart
        pass
    for _ in range(2):
        assert s.c.patch(url, json={"status": "flying"}, headers=s.as_("nurse")).status_code == 422
    stale = {**s.as_("nurse"), "If-Match": '"1.x"'}
    assert s.c.patch(url, json={"status": "cleaning"}, headers=stale).status_code == 412
    figures = ops(s)
    assert figures["refused_by_reason"] == {"precondition_failed": 1, "unknown_value": 2}
    routes = {r["route"]: r for r in figures["http"]["routes"]}
    bed = routes["/api/wards/{ward}/beds/{bed}"]
    assert bed["by_class"] == {"4xx": 3} and bed["requests_per_sec"] > 0 and bed["p95_ms"] is not None
    assert figures["http"]["server_errors_per_sec"] == 0


def test_the_window_takes_differences_per_route() -> None:
    def sample(at: float, count: float, fast: float, five: float) -> Sample:
        buckets = ((0.01, fast), (0.1, count), (float("inf"), count))
        route = RouteSample(count, count * 0.02, buckets, {"2xx": count - five, "5xx": five})
        return Sample(at, {}, (), {"/api/wards": route})

    sampler = Sampler(window_secs=10)
    sampler.add(sample(100.0, 50, 50, 0))
    sampler.add(sample(110.0, 70, 50, 2))  # 20 more in 10 s: none under 10 ms, two failed
    http = sampler.http()
    assert http["window_secs"] == 10.0 and http["requests_per_sec"] == 2.0 and http["server_errors_per_sec"] == 0.2
    (row,) = http["routes"]
    assert row["by_class"] == {"2xx": 18, "5xx": 2} and 10 < row["p95_ms"] <= 100


def test_polling_faster_than_the_spacing_still_builds_a_window() -> None:
    sampler = Sampler(window_secs=10)
    for i in range(20):  # every 0.1 s for 2 s
        sampler.add(Sample(100.0 + i / 10, {}, (), {}))
    spacing = [b.at - a.at for a, b in zip(sampler.samples, list(sampler.samples)[1:], strict=False)]
    assert len(sampler.samples) >= 3 and all(gap >= 0.5 - 1e-9 for gap in spacing[:-1])
    assert sampler.samples[-1].at == 101.9
