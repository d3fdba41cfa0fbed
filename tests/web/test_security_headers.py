"""Pages, API answers, errors, health, metrics and static files carry one set of security headers; identifiable
data is never stored in a cache; static files are immutable under versioned URLs."""

from __future__ import annotations

import re

import httpx2

from tests.support import SECURITY_HEADERS, InProcessSite
from whiteboard.web.security import HEADERS

EXPECTED = SECURITY_HEADERS


def security_headers(r: httpx2.Response) -> dict[str, str]:
    return {name: r.headers.get(name, "<missing>") for name in EXPECTED}


def every_route_kind(s: InProcessSite) -> dict[str, httpx2.Response]:
    ward = f"/api/wards/{s.WARD}"
    snapshot = s.c.get(ward, headers=s.as_("nurse"))
    return {
        "page: board": s.c.get(f"/board/{s.WARD}", headers=s.as_("display")),
        "page: phone": s.c.get("/m", headers=s.as_("nurse")),
        "page: sign-in": s.c.get("/login"),
        "page: ops": s.c.get("/ops", headers=s.as_("ops")),
        "page: audit": s.c.get("/audit", headers=s.as_("admin")),
        "page: problem (403)": s.c.get("/m", headers=s.as_("display")),
        "redirect to sign-in": s.c.get("/m", follow_redirects=False),
        "api: wards": s.c.get("/api/wards", headers=s.as_("nurse")),
        "api: snapshot": snapshot,
        "api: snapshot 304": s.c.get(ward, headers={**s.as_("nurse"), "If-None-Match": snapshot.headers["etag"]}),
        "api: events": s.c.get(f"{ward}/events", headers=s.as_("nurse")),
        "api: audit csv": s.c.get("/api/audit", params={"format": "csv"}, headers=s.as_("admin")),
        "api: ops": s.c.get("/api/ops", headers=s.as_("ops")),
        "api: write": s.c.patch(f"{ward}/beds/B1", json={"status": "cleaning"}, headers=s.as_("nurse")),
        "api: 401": s.c.get(ward),
        "api: 422": s.c.patch(f"{ward}/beds/B1", json={"status": "x"}, headers=s.as_("nurse")),
        "api: 405": s.c.delete(ward, headers=s.as_("nurse")),
        "unknown path": s.c.get("/no/such/thing"),
        "odd path": s.c.get("/api/wards/x%2Fevents"),
        "health": s.c.get("/healthz"),
        "readiness": s.c.get("/readyz"),
        "metrics": s.c.get("/metrics", headers=s.as_("ops")),
        "openapi": s.c.get("/openapi.json"),
        "static": s.c.get("/static/js/board.js"),
        "static 404": s.c.get("/static/js/nothing.js"),
    }


def test_every_route_kind_sends_the_same_security_headers(app_site: InProcessSite) -> None:
    answers = every_route_kind(app_site)
    assert answers["page: board"].status_code == 200 and answers["api: snapshot 304"].status_code == 304
    assert answers["api: write"].status_code == 200 and answers["static"].status_code == 200
    different = {kind: security_headers(r) for kind, r in answers.items() if security_headers(r) != EXPECTED}
    assert different == {}
    assert {k.lower(): v for k, v in HEADERS.items()} == EXPECTED
    # Over plain HTTP no HSTS (a browser ignores it there, and a test server on loopback must stay reachable).
    assert all("strict-transport-security" not in r.headers for r in answers.values())


def test_identifiable_data_is_never_stored_in_a_cache(app_site: InProcessSite) -> None:
    s = app_site
    patient = {"name": "Mary Seacole", "nhs_number": "9434765919", "date_of_birth": "1935-03-14"}
    admitted = s.c.patch(f"/api/wards/{s.WARD}/beds/B3", json={"status": "occupied", "patient": patient},
                         headers=s.as_("nurse"))  # fmt: skip
    assert admitted.status_code == 200, admitted.text
    answers = every_route_kind(s)
    for kind, r in answers.items():
        if kind.startswith("static"):
            continue
        assert r.headers.get("cache-control") == "no-store", (kind, r.headers.get("cache-control"))
    for kind in ("api: snapshot", "api: events", "api: audit csv"):  # the phone page loads it by fetch()
        assert "Mary Seacole" in answers[kind].text, kind
    assert answers["api: snapshot"].headers["vary"] == "Authorization, Cookie"


def test_the_phone_still_revalidates_snapshots_with_etags(app_site: InProcessSite) -> None:
    s = app_site
    ward = f"/api/wards/{s.WARD}"
    first = s.c.get(ward, headers=s.as_("nurse"))
    again = s.c.get(ward, headers={**s.as_("nurse"), "If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", first.headers["etag"])
    assert s.c.patch(f"{ward}/beds/B2", json={"status": "cleaning"}, headers=s.as_("nurse")).status_code == 200
    moved = s.c.get(ward, headers={**s.as_("nurse"), "If-None-Match": first.headers["etag"]})
    assert moved.status_code == 200 and moved.headers["etag"] != first.headers["etag"]


def test_static_files_are_immutable_under_versioned_urls(app_site: InProcessSite) -> None:
    s = app_site
    page = s.c.get(f"/board/{s.WARD}", headers=s.as_("display")).text + s.c.get("/login").text
    urls = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    assert len(urls) >= 4  # the board's styles, scripts and icon, the sign-in page's styles
    for url in urls:
        assert re.fullmatch(r"/static/[\w./-]+\?v=[0-9a-f]{12}", url), url
        r = s.c.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable", url
    path = next(iter(urls)).split("?")[0]
    # Without the version, or with an old one, a file is revalidated, never cached as immutable.
    assert s.c.get(path).headers["cache-control"] == "no-cache"
    assert s.c.get(path + "?v=000000000000").headers["cache-control"] == "no-cache"
