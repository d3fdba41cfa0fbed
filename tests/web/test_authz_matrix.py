"""The authorisation matrix: every route × every role × own ward / other ward / no credential / revoked
credential, each answer checked against the table below (CONTRACT.md: 401 without a credential, 403
without the right, 200/303 otherwise). A route added to `routes.py` without a row here fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from tests.support import SETUP, portal_runner
from whiteboard.access.auth import LADDER
from whiteboard.app import create_app
from whiteboard.settings import Settings
from whiteboard.web.routes import routes

OWN, OTHER = "ward-a", "ward-b"
ROLES = (*LADDER, "ops")
OBS = {"respiration_rate": 16, "spo2": 97, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120, "pulse": 70,
       "consciousness": "A", "temperature": 37.0}  # fmt: skip
LOAD_TEST = {"finished_at": "2026-12-01T09:00:00Z", "profile": "ci", "monthly_multiple": 1.5, "thresholds_passed": True,
             "requests": 900, "failures": 0, "p99_ms": 12.0}  # fmt: skip

FHIR_TRANSACTION = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "resource": {
                "resourceType": "Location",
                "id": f"{OWN}.B2",
                "operationalStatus": {"system": "http://terminology.hl7.org/CodeSystem/v2-0116", "code": "O"},
            },
            "request": {"method": "PUT", "url": f"Location/{OWN}.B2"},
        }
    ],
}

SUBSCRIPTION = {
    "resourceType": "Subscription",
    "status": "requested",
    "reason": "matrix",
    "criteria": "https://ward-whiteboard.example/fhir/SubscriptionTopic/bed-changed",
    "_criteria": {"extension": [{"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                                        "backport-filter-criteria", "valueString": f"Location?partof=Location/{OWN}"}]},
    "channel": {"type": "websocket", "payload": "application/fhir+json"},
}  # fmt: skip

# (method, path template, body) per route; {ward} is always ward-a, the ward "own" credentials cover.
REQUESTS: dict[tuple[str, str], tuple[str, str, Any]] = {
    ("GET", "/api/wards"): ("GET", "/api/wards", None),
    ("GET", "/api/wards/{ward}"): ("GET", "/api/wards/{ward}", None),
    ("GET", "/api/wards/{ward}/events"): ("GET", "/api/wards/{ward}/events?since=0-0", None),
    ("PATCH", "/api/wards/{ward}/beds/{bed}"): ("PATCH", "/api/wards/{ward}/beds/B2", {"notes": "matrix"}),
    ("POST", "/api/wards/{ward}/beds/{bed}/observations"): ("POST", "/api/wards/{ward}/beds/B1/observations", OBS),
    ("POST", "/api/wards/{ward}/beds/{bed}/observations/preview"): (
        "POST",
        "/api/wards/{ward}/beds/B1/observations/preview",
        OBS,
    ),
    ("POST", "/api/wards/{ward}/beds/{bed}/transfer"): ("POST", "/api/wards/{ward}/beds/B3/transfer", {"to_bed": "B4"}),
    ("POST", "/api/wards/{ward}/beds/{bed}/swap"): ("POST", "/api/wards/{ward}/beds/B1/swap", {"to_bed": "B2"}),
    ("GET", "/api/wards/{ward}/display-profile"): ("GET", "/api/wards/{ward}/display-profile", None),
    ("PUT", "/api/wards/{ward}/display-profile"): ("PUT", "/api/wards/{ward}/display-profile", {"fields": None}),
    ("GET", "/api/audit"): ("GET", "/api/audit?ward={ward}", None),
    ("GET", "/metrics"): ("GET", "/metrics", None),
    ("GET", "/api/ops"): ("GET", "/api/ops", None),
    ("GET", "/api/ops/load-tests"): ("GET", "/api/ops/load-tests", None),
    ("POST", "/api/ops/load-tests"): ("POST", "/api/ops/load-tests", LOAD_TEST),
    ("GET", "/board/{ward}"): ("GET", "/board/{ward}", None),
    ("GET", "/m"): ("GET", "/m", None),
    ("GET", "/ops"): ("GET", "/ops", None),
    ("GET", "/audit"): ("GET", "/audit?ward={ward}", None),
    ("GET", "/admin/displays"): ("GET", "/admin/displays", None),
    ("POST", "/admin/displays"): ("POST", "/admin/displays", None),
    ("GET", "/admin/users"): ("GET", "/admin/users", None),
    ("POST", "/admin/users"): ("POST", "/admin/users", None),
    # FHIR: a search of each route, a read of the patient on the own ward's B1, a transaction changing its B2.
    ("GET", "/fhir/{type}"): ("GET", "/fhir/Patient?name=matrix", None),
    ("GET", "/fhir/{type}/{id}"): ("GET", "/fhir/Patient/{patient}", None),
    ("POST", "/fhir"): ("POST", "/fhir", FHIR_TRANSACTION),
    ("POST", "/fhir/Subscription"): ("POST", "/fhir/Subscription", SUBSCRIPTION),
    # The admin:own credential's Subscription: every other credential is told there is no such thing.
    ("GET", "/fhir/Subscription/{id}"): ("GET", "/fhir/Subscription/{subscription}", None),
    ("GET", "/fhir/Subscription/{id}/$get-ws-binding-token"): (
        "GET",
        "/fhir/Subscription/{subscription}/$get-ws-binding-token",
        None,
    ),
    ("POST", "/fhir/Subscription/{id}/$get-ws-binding-token"): (
        "POST",
        "/fhir/Subscription/{subscription}/$get-ws-binding-token",
        None,
    ),
}
# The FHIR routes as displays and other roles see them differently (a display reads Locations, never a Patient).
FHIR_EXTRA: dict[str, tuple[str, str, Any]] = {
    "locations": ("GET", "/fhir/Location?partof={ward}", None),
}
# No credential needed:
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/", "/login", "/logout", "/login/oidc", "/login/oidc/callback",
          "/fhir/metadata"}  # fmt: skip


def at_least(role: str, floor: str) -> bool:
    return role in LADDER and LADDER.index(role) >= LADDER.index(floor)


def expected(route: tuple[str, str], role: str | None, own: bool) -> int:
    """The table: what each credential should get."""
    method, path = route
    page = not path.startswith(("/api", "/fhir")) and path != "/metrics"
    if role is None:  # no credential, or a revoked one
        return 303 if page else 401
    ward_scoped = "{ward}" in path or path in ("/api/audit", "/audit")
    if ward_scoped and role != "ops" and role != "admin" and not own:
        return 403
    if route == ("GET", "/fhir/{type}/{id}") and at_least(role, "viewer") and role != "admin" and not own:
        return 404  # a read by id finds nothing outside the credential's wards (and says nothing about them)
    if route == ("POST", "/fhir") and at_least(role, "nurse") and role != "admin" and not own:
        return 403  # the Bundle changes a bed of a ward this credential does not cover
    if route == ("POST", "/fhir/Subscription") and at_least(role, "display") and role != "admin" and not own:
        return 403  # the Subscription names a ward this credential does not cover
    if route[1].startswith("/fhir/Subscription/{id}") and at_least(role, "display") and (role, own) != ("admin", True):
        return 404  # only the credential that created a Subscription sees it
    rule = {
        ("GET", "/api/wards"): at_least(role, "display"),
        ("GET", "/api/wards/{ward}"): at_least(role, "display"),
        ("GET", "/api/wards/{ward}/events"): at_least(role, "display"),
        ("PATCH", "/api/wards/{ward}/beds/{bed}"): at_least(role, "nurse"),
        ("POST", "/api/wards/{ward}/beds/{bed}/observations"): at_least(role, "nurse"),
        ("POST", "/api/wards/{ward}/beds/{bed}/observations/preview"): at_least(role, "nurse"),
        ("POST", "/api/wards/{ward}/beds/{bed}/transfer"): at_least(role, "nurse"),
        ("POST", "/api/wards/{ward}/beds/{bed}/swap"): at_least(role, "nurse"),
        ("GET", "/api/wards/{ward}/display-profile"): at_least(role, "ward_manager"),
        ("PUT", "/api/wards/{ward}/display-profile"): at_least(role, "admin"),
        ("GET", "/api/audit"): at_least(role, "ward_manager"),
        ("GET", "/metrics"): role in ("ops", "admin"),
        ("GET", "/api/ops"): role in ("ops", "admin"),
        ("GET", "/api/ops/load-tests"): role in ("ops", "admin"),
        ("POST", "/api/ops/load-tests"): role in ("ops", "admin"),
        ("GET", "/board/{ward}"): at_least(role, "display"),
        ("GET", "/m"): at_least(role, "viewer"),
        ("GET", "/ops"): role in ("ops", "admin"),
        ("GET", "/audit"): at_least(role, "ward_manager"),
        ("GET", "/admin/displays"): at_least(role, "admin"),
        ("POST", "/admin/displays"): at_least(role, "admin"),
        ("GET", "/admin/users"): at_least(role, "admin"),
        ("POST", "/admin/users"): at_least(role, "admin"),
        ("GET", "/fhir/{type}"): at_least(role, "viewer"),
        ("GET", "/fhir/{type}/{id}"): at_least(role, "viewer"),
        ("POST", "/fhir"): at_least(role, "nurse"),
        ("POST", "/fhir/Subscription"): at_least(role, "display"),
        ("GET", "/fhir/Subscription/{id}"): at_least(role, "display"),
        ("GET", "/fhir/Subscription/{id}/$get-ws-binding-token"): at_least(role, "display"),
        ("POST", "/fhir/Subscription/{id}/$get-ws-binding-token"): at_least(role, "display"),
    }[route]
    if not rule:
        return 403
    return 201 if route in (("POST", "/api/ops/load-tests"), ("POST", "/fhir/Subscription")) else 200


def test_every_route_has_a_row() -> None:
    listed = set()
    for r in routes():
        if isinstance(r, (Mount, WebSocketRoute)) or not isinstance(r, Route) or r.path in PUBLIC:
            continue
        for method in r.methods or ():
            if method != "HEAD":
                listed.add((method, r.path))
    assert listed == set(REQUESTS), "add the new route to REQUESTS and to the table in expected()"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    db = Path(tmp_path_factory.mktemp("matrix")) / "m.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", write_rate_per_min=0))
    with TestClient(app) as c:
        run = portal_runner(c)
        store = app.state.wb.store
        run(store.add_wards([(w, w, [(f"B{i}", "Bay 1") for i in range(1, 5)]) for w in (OWN, OTHER)], actor=SETUP))
        tokens: dict[str, str] = {}
        for role in ROLES:
            for scope, ward in (("own", OWN), ("other", OTHER)):
                wards = None if role in ("ops", "admin") else (ward,)
                tokens[f"{role}:{scope}"] = run(store.create_credential(role, wards, f"{role} {scope}", actor=SETUP))[1]
        revoked_id, tokens["revoked"] = run(store.create_credential("admin", None, "revoked", actor=SETUP))
        assert run(store.revoke_credential(revoked_id, SETUP))
        admin = {"Authorization": f"Bearer {tokens['admin:own']}"}
        for bed in ("B1", "B2"):  # a swap of B1 and B2 can be repeated; a transfer needs `prepare`
            c.patch(f"/api/wards/{OWN}/beds/{bed}", json={"patient": {"name": f"Matrix {bed}"}}, headers=admin)
        found = c.get("/fhir/Patient?name=matrix", headers=admin).json()
        tokens["patient-id"] = found["entry"][0]["resource"]["id"]
        tokens["subscription-id"] = c.post("/fhir/Subscription", json=SUBSCRIPTION, headers=admin).json()["id"]
        yield c, tokens


CASES = [
    (route, who)
    for route in REQUESTS
    for who in [*(f"{r}:{s}" for r in ROLES for s in ("own", "other")), "none", "revoked"]
]


def prepare(c: TestClient, tokens: dict[str, str], route: tuple[str, str]) -> None:
    """A transfer cannot be repeated: before each case, put the patient back on B3 with B4 empty."""
    if route != ("POST", "/api/wards/{ward}/beds/{bed}/transfer"):
        return
    admin = {"Authorization": f"Bearer {tokens['admin:own']}"}
    beds = {b["id"]: b for b in c.get(f"/api/wards/{OWN}", headers=admin).json()["beds"]}
    if beds["B3"]["patient"] is None and beds["B4"]["patient"] is None:
        c.patch(f"/api/wards/{OWN}/beds/B3", json={"patient": {"name": "Matrix Mover"}}, headers=admin)
    elif beds["B4"]["patient"] is not None:
        c.patch(f"/api/wards/{OWN}/beds/B3", json={"status": "empty"}, headers=admin)
        moved = c.post(f"/api/wards/{OWN}/beds/B4/transfer", json={"to_bed": "B3"}, headers=admin)
        assert moved.status_code == 200, moved.text
        c.patch(f"/api/wards/{OWN}/beds/B4", json={"status": "empty"}, headers=admin)


@pytest.mark.parametrize(("route", "who"), CASES, ids=[f"{m} {p} as {w}" for (m, p), w in CASES])
def test_matrix(client: tuple[TestClient, dict[str, str]], route: tuple[str, str], who: str) -> None:
    c, tokens = client
    method, path, body = REQUESTS[route]
    url = path.format(ward=OWN, patient=tokens["patient-id"], subscription=tokens["subscription-id"])
    headers = {"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
    role, _, scope = who.partition(":")
    want = expected(route, role if who in tokens and who != "revoked" else None, scope == "own")
    prepare(c, tokens, route)
    r = c.request(method, url, json=body, headers=headers, follow_redirects=False)
    assert r.status_code == want, f"{method} {url} as {who}: {r.status_code} {r.text[:200]}"
    if want in (401, 403) and r.headers.get("content-type", "").startswith("application/json"):
        assert r.json()["error"]["code"]
    if url.startswith("/fhir"):
        assert r.headers["content-type"].startswith("application/fhir+json")
        if want >= 400:
            assert r.json()["resourceType"] == "OperationOutcome", r.text


FHIR_CASES = [(who, want) for who, want in [("display:own", 200), ("display:other", 200), ("ops:own", 403),
                                             ("viewer:own", 200), ("none", 401), ("revoked", 401)]]  # fmt: skip


@pytest.mark.parametrize(("who", "want"), FHIR_CASES, ids=[w for w, _ in FHIR_CASES])
def test_fhir_locations_are_for_every_ward_role(client: tuple[TestClient, dict[str, str]], who: str, want: int) -> None:
    """Bed states carry no patient data: a display reads its own ward's Locations (and only its own)."""
    c, tokens = client
    method, path, _ = FHIR_EXTRA["locations"]
    r = c.request(
        method, path.format(ward=OWN), headers={"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
    )
    assert r.status_code == want, r.text
    if want == 200:
        ids = {e["resource"]["id"] for e in r.json()["entry"]}
        assert (ids and all(i.startswith(f"{OWN}.B") for i in ids)) if who.endswith(":own") else ids == set()
    if want == 303:
        assert r.headers["location"].startswith("/login")
