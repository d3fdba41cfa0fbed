"""Refused writes are counted once each, by reason, wherever they are refused; every HTTP answer is counted and
timed by route template, method and status, with unknown paths collapsed into one label."""

from __future__ import annotations

import pytest

from tests.support import InProcessSite


def refused(site: InProcessSite, code: str) -> float:
    return site.metric("whiteboard_writes_total", outcome=f"refused_{code}")


def test_five_refused_patches_of_three_kinds_count_five_by_reason(app_site: InProcessSite) -> None:
    s = app_site
    url = f"/api/wards/{s.WARD}/beds/B1"
    nurse = s.as_("nurse")
    reasons = ("unknown_value", "conflict", "precondition_failed", "malformed")
    before = {code: refused(s, code) for code in reasons}
    answers = [
        s.c.patch(url, json={"status": "flying"}, headers=nurse),  # refused by the parser (422)
        s.c.patch(url, json={"status": "closed", "patient": {"name": "Ann Bell"}}, headers=nurse),  # by a rule
        s.c.patch(url, json={"status": "cleaning"}, headers={**nurse, "If-Match": '"9.deadbeef"'}),
        s.c.patch(url, json={"status": "cleaning"}, headers={**nurse, "If-Match": '"' + "9" * 5000 + '.x"'}),
        s.c.patch(url, content=b"{not json", headers={**nurse, "Content-Type": "application/json"}),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in answers] == [
        (422, "unknown_value"), (422, "conflict"), (412, "precondition_failed"), (412, "precondition_failed"),
        (400, "malformed"),
    ]  # fmt: skip
    after = {code: refused(s, code) for code in reasons}
    assert {code: after[code] - before[code] for code in reasons} == {
        "unknown_value": 1, "conflict": 1, "precondition_failed": 2, "malformed": 1,
    }  # fmt: skip
    assert s.metric("whiteboard_writes_total", outcome="committed") == 0


def test_refusals_by_the_write_path_and_by_access_are_counted_too(app_site: InProcessSite) -> None:
    s = app_site
    assert s.c.patch(f"/api/wards/{s.WARD}/beds/B99", json={"status": "cleaning"},
                     headers=s.as_("nurse")).status_code == 404  # fmt: skip
    assert s.c.patch(f"/api/wards/{s.WARD}/beds/B1", json={"status": "cleaning"},
                     headers=s.as_("display")).status_code == 403  # fmt: skip
    assert s.c.patch(f"/api/wards/{s.WARD}/beds/B1", json={"status": "cleaning"}).status_code == 401
    assert (refused(s, "not_found"), refused(s, "forbidden"), refused(s, "unauthorized")) == (1, 1, 1)
    # Reads that are refused are not refused writes.
    assert s.c.get(f"/api/wards/{s.WARD}").status_code == 401
    assert refused(s, "unauthorized") == 1
    # A write that commits counts as committed, not refused.
    assert s.c.patch(f"/api/wards/{s.WARD}/beds/B1", json={"status": "cleaning"},
                     headers=s.as_("nurse")).status_code == 200  # fmt: skip
    assert s.metric("whiteboard_writes_total", outcome="committed") == 1


def test_http_requests_are_counted_and_timed_by_route_template(app_site: InProcessSite) -> None:
    s = app_site
    for bed in ("B1", "B2", "B3"):
        assert s.c.patch(f"/api/wards/{s.WARD}/beds/{bed}", json={"status": "cleaning"},
                         headers=s.as_("nurse")).status_code == 200  # fmt: skip
    for junk in ("/nope", "/api/nothing/here", "/wp-login.php"):
        assert s.c.get(junk).status_code == 404
    text = s.c.get("/metrics", headers=s.as_("ops")).text
    labels = 'method="PATCH",route="/api/wards/{ward}/beds/{bed}",status="200"'
    assert f"whiteboard_http_requests_total{{{labels}}} 3.0" in text
    assert f"whiteboard_http_request_seconds_count{{{labels}}} 3.0" in text
    assert f'whiteboard_http_request_seconds_bucket{{le="+Inf",{labels}}} 3.0' in text
    assert s.metric("whiteboard_http_requests_total", method="GET", route="unmatched", status="404") == 3
    # Only templates and the one "unmatched" label: no raw path with an id or a probe's path in it.
    assert "B2" not in text and "wp-login" not in text and "/nope" not in text


@pytest.mark.parametrize("method", ["BREW", "PROPFIND"])
def test_unknown_methods_share_one_label(app_site: InProcessSite, method: str) -> None:
    s = app_site
    assert s.c.request(method, "/api/wards").status_code == 405
    assert s.metric("whiteboard_http_requests_total", method="OTHER", route="/api/wards", status="405") == 1
