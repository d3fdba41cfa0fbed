"""The ops figures: every ward with its name (also one nobody has opened and that has no events), refusals
by reason, and HTTP request rates and latency per route template."""

from __future__ import annotations

import time
from typing import Any

import pytest

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


RESULT = {"finished_at": "2026-12-01T10:15:00+01:00", "profile": "trust-day", "monthly_multiple": 104.2,
          "thresholds_passed": True, "requests": 250000, "failures": 0, "p99_ms": 38.0,
          "report_name": "20261201T091500Z-trust-day"}  # fmt: skip


def test_a_load_test_result_is_kept_listed_and_audited(app_site: InProcessSite) -> None:
    s = app_site
    r = s.c.post("/api/ops/load-tests", json=RESULT, headers=s.as_("ops"))
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["finished_at"] == "2026-12-01T09:15:00.000Z" and saved["recorded_by"] == "site ops"
    assert {k: saved[k] for k in RESULT if k != "finished_at"} == {
        k: v for k, v in RESULT.items() if k != "finished_at"
    }
    later = {**RESULT, "finished_at": "2026-12-01T12:00:00Z", "profile": "ci", "thresholds_passed": False}
    del later["report_name"]  # optional
    assert s.c.post("/api/ops/load-tests", json=later, headers=s.as_("admin")).status_code == 201
    listed = s.c.get("/api/ops/load-tests?limit=5", headers=s.as_("ops")).json()
    assert [(x["profile"], x["thresholds_passed"], x["report_name"]) for x in listed] == [
        ("ci", False, None), ("trust-day", True, "20261201T091500Z-trust-day")]  # fmt: skip
    assert [x["profile"] for x in s.c.get("/api/ops/load-tests?limit=1", headers=s.as_("ops")).json()] == ["ci"]
    trail = s.c.get("/api/audit", headers=s.as_("admin")).json()
    recorded = [a for a in trail if a["action"] == "load_test.recorded"]
    assert [(a["actor"], a["role"], a["source"], a["after"]["profile"]) for a in recorded] == [
        ("site admin", "admin", "api", "ci"), ("site ops", "ops", "api", "trust-day")]  # fmt: skip


def test_only_ops_and_admin_see_or_record_load_tests(app_site: InProcessSite) -> None:
    s = app_site
    for role in ("nurse", "display", "ward_manager"):
        assert s.c.post("/api/ops/load-tests", json=RESULT, headers=s.as_(role)).status_code == 403
        assert s.c.get("/api/ops/load-tests", headers=s.as_(role)).status_code == 403
    assert s.c.post("/api/ops/load-tests", json=RESULT).status_code == 401
    assert s.c.get("/api/ops/load-tests", headers=s.as_("ops")).json() == []


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"finished_at": "yesterday"}, "finished_at", "wrong_type"),
        ({"finished_at": "2026-12-01T09:00:00"}, "finished_at", "invalid"),
        ({"monthly_multiple": "100"}, "monthly_multiple", "wrong_type"),
        ({"monthly_multiple": -1}, "monthly_multiple", None),
        ({"thresholds_passed": "yes"}, "thresholds_passed", "wrong_type"),
        ({"requests": 1.5}, "requests", "wrong_type"),
        ({"failures": -2}, "failures", None),
        ({"profile": ""}, "profile", None),
        ({"report_name": "x" * 201}, "report_name", None),
        ({"surprise": 1}, "surprise", None),
        ({"p99_ms": None}, "p99_ms", "wrong_type"),
    ],
)
def test_a_bad_load_test_result_is_a_422_naming_the_field_and_nothing_is_kept(
    app_site: InProcessSite, change: dict[str, Any], field: str, code: str | None
) -> None:
    s = app_site
    r = s.c.post("/api/ops/load-tests", json={**RESULT, **change}, headers=s.as_("ops"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field and error["message"]
    if code is not None:
        assert error["code"] == code
    missing = {k: v for k, v in RESULT.items() if k != "requests"}
    r = s.c.post("/api/ops/load-tests", json=missing, headers=s.as_("ops"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "requests"
    assert s.c.post("/api/ops/load-tests", json=[1], headers=s.as_("ops")).status_code == 422
    assert s.c.get("/api/ops/load-tests", headers=s.as_("ops")).json() == []
    assert s.c.get("/api/ops/load-tests?limit=0", headers=s.as_("ops")).json()["error"]["field"] == "limit"


def test_the_ops_page_shows_the_latest_load_test_or_says_there_is_none(app_site: InProcessSite) -> None:
    s = app_site
    empty = s.c.get("/ops", headers=s.as_("ops"))
    assert empty.status_code == 200 and "No load test recorded yet" in empty.text and "scripts/loadtest" in empty.text
    s.c.post("/api/ops/load-tests", json={**RESULT, "thresholds_passed": False, "failures": 12}, headers=s.as_("ops"))
    s.c.post("/api/ops/load-tests", json={**RESULT, "finished_at": "2026-11-01T09:00:00Z"}, headers=s.as_("ops"))
    page = s.c.get("/ops", headers=s.as_("admin")).text
    assert "No load test recorded yet" not in page
    assert "104.2×" in page and "a large trust's monthly load" in page
    assert '<time data-local-time datetime="2026-12-01T09:15:00.000Z">' in page  # the newest run, not the last sent
    assert ">FAIL</span>" in page and ">PASS<" not in page
    assert '<dd data-load="requests">250,000</dd>' in page and '<dd data-load="failures">12</dd>' in page
    assert '<dd data-load="profile">trust-day</dd>' in page
